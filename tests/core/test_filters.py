"""The filter grammar, case for case as rclone's fs/filter/glob_test.go and filter_test.go expect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from genrostore.core.filters import (
    Filter,
    FilterError,
    FilterOptions,
    dir_globs,
    glob_to_regexp,
    parse_age,
    parse_shard,
    parse_size,
    rule_lines,
    shard_of,
)

# (glob, the regexp rclone's GlobPathToRegexp writes) — glob_test.go TestGlobPathToRegexp
GLOB_REGEXPS = [
    ("", "(^|/)$"),
    ("potato", "(^|/)potato$"),
    ("potato,sausage", "(^|/)potato,sausage$"),
    ("/potato", "^potato$"),
    ("potato?sausage", "(^|/)potato[^/]sausage$"),
    ("potat[oa]", "(^|/)potat[oa]$"),
    ("potat[a-z]or", "(^|/)potat[a-z]or$"),
    ("potat[[:alpha:]]or", "(^|/)potat[[:alpha:]]or$"),
    ("'.' '+' '(' ')' '|' '^' '$'", r"(^|/)'\.' '\+' '\(' '\)' '\|' '\^' '\$'$"),
    ("*.jpg", r"(^|/)[^/]*\.jpg$"),
    ("a{b,c,d}e", "(^|/)a(b|c|d)e$"),
    ("a{b,{c,d}}e", "(^|/)a(b|(c|d))e$"),
    ("{a,b/{c,d}/**}", "(^|/)(a|b/(c|d)/.*)$"),
    ("potato**", "(^|/)potato.*$"),
    ("potato**sausage", "(^|/)potato.*sausage$"),
    ("*.p[lm]", r"(^|/)[^/]*\.p[lm]$"),
    (r"[\[\]]", r"(^|/)[\[\]]$"),
    ("*.{jpg,png,gif}", r"(^|/)[^/]*\.(jpg|png|gif)$"),
    (r"a\*b", r"(^|/)a\*b$"),
    (r"a\\b", r"(^|/)a\\b$"),
    ("a{{.*}}b", "(^|/)a(.*)b$"),
    ("{{regexp}}", "(^|/)(regexp)$"),
    (r"\{{{regexp}}", r"(^|/)\{(regexp)$"),
    ("/{{regexp}}", "^(regexp)$"),
    (r"/{{\d{8}}}", r"^(\d{8})$"),
    (r"/{{\}}}", r"^(\})$"),
    ("{{(?i)regexp}}", "(^|/)((?i)regexp)$"),
]

GLOB_ERRORS = [
    ("***potato", "too many stars"),
    ("***", "too many stars"),
    ("ab]c", "mismatched ']'"),
    ("ab[c", "mismatched '[' and ']'"),
    ("ab{x{cd", "mismatched '{' and '}'"),
    ("ab{}}cd", "mismatched '{' and '}'"),
    ("ab}c", "mismatched '{' and '}'"),
    ("ab{c", "mismatched '{' and '}'"),
    ("[a--b]", "bad glob pattern"),
    ("a{{.*}", "mismatched '{{' and '}}'"),
]


@pytest.mark.parametrize(("glob", "regexp"), GLOB_REGEXPS)
def test_glob_becomes_the_regexp_rclone_writes(glob: str, regexp: str) -> None:
    assert glob_to_regexp(glob).text == regexp
    assert glob_to_regexp(glob, ignore_case=True).text == "(?i)" + regexp


@pytest.mark.parametrize(("glob", "message"), GLOB_ERRORS)
def test_malformed_glob_is_a_usage_error(glob: str, message: str) -> None:
    with pytest.raises(FilterError, match=message.replace("[", r"\[").replace("{", r"\{")) as raised:
        glob_to_regexp(glob)
    assert raised.value.exit_code == 2


# glob_test.go TestGlobToDirGlobs
DIR_GLOBS = [
    ("*", ["/**"]), ("/*", ["/"]), ("*.jpg", ["/**"]), ("/*.jpg", ["/"]), ("//*.jpg", ["/"]),
    ("///*.jpg", ["/"]), ("/a/*.jpg", ["/a/", "/"]), ("/a//*.jpg", ["/a/", "/"]),
    ("/a/b/*.jpg", ["/a/b/", "/a/", "/"]), ("a/*.jpg", ["a/"]), ("a/b/*.jpg", ["a/b/", "a/"]),
    ("*/*/*.jpg", ["*/*/", "*/"]), ("a/b/", ["a/b/", "a/"]), ("a/b", ["a/"]),
    ("a/b/*.{jpg,png,gif}", ["a/b/", "a/"]),
    ("/a/{jpg,png,gif}/*.{jpg,png,gif}", ["/a/{jpg,png,gif}/", "/a/", "/"]),
    ("a/{b,{c,d}}/*.jpg", ["/**"]), ("a/{a,a*b,a**c}/d/", ["/**"]), ("/a/{a,a*b,a/c,d}/d/", ["/**"]),
    ("/a/{{.*}}/d/", ["/**"]), ("**", ["**/"]), ("a**", ["a**/"]), ("a**b", ["a**/"]),
    ("a**b**c**d", ["a**b**c**/", "a**b**/", "a**/"]), ("a**b/c**d", ["a**b/c**/", "a**b/", "a**/"]),
    ("/A/a**b/B/c**d/C/", ["/A/a**b/B/c**d/C/", "/A/a**b/B/c**d/", "/A/a**b/B/c**/", "/A/a**b/B/",
                           "/A/a**b/", "/A/a**/", "/A/", "/"]),
    ("/var/spool/**/ncw", ["/var/spool/**/", "/var/spool/", "/var/", "/"]),
    ("var/spool/**/ncw/", ["var/spool/**/ncw/", "var/spool/**/", "var/spool/", "var/"]),
    ("/sausage3**", ["/sausage3**/", "/"]),
]


@pytest.mark.parametrize(("glob", "expected"), DIR_GLOBS)
def test_directory_globs_a_file_glob_can_lie_below(glob: str, expected: list[str]) -> None:
    assert dir_globs(glob) == expected


# filter_test.go TestFilterMatchesFromDocs: `+ glob` then `- *`
DOC_MATCHES = [
    ("file.jpg", "file.jpg", True), ("file.jpg", "directory/file.jpg", True),
    ("file.jpg", "afile.jpg", False), ("file.jpg", "directory/afile.jpg", False),
    ("/file.jpg", "file.jpg", True), ("/file.jpg", "afile.jpg", False),
    ("/file.jpg", "directory/file.jpg", False), ("*.jpg", "file.jpg", True),
    ("*.jpg", "directory/file.jpg", True), ("*.jpg", "file.jpg/anotherfile.png", False),
    ("dir/**", "dir/file.jpg", True), ("dir/**", "dir/dir1/dir2/file.jpg", True),
    ("dir/**", "directory/file.jpg", False), ("dir/**", "adir/file.jpg", False),
    ("l?ss", "less", True), ("l?ss", "lass", True), ("l?ss", "floss", False),
    ("h[ae]llo", "hello", True), ("h[ae]llo", "hallo", True), ("h[ae]llo", "hullo", False),
    ("{one,two}_potato", "one_potato", True), ("{one,two}_potato", "two_potato", True),
    ("{one,two}_potato", "three_potato", False), ("{one,two}_potato", "_potato", False),
    (r"\*.jpg", "*.jpg", True), (r"\\.jpg", r"\.jpg", True), (r"\[one\].jpg", "[one].jpg", True),
    ("potato", "potato", True), ("potato", "POTATO", False),
    ("h[[:alpha:]]llo", "hello", True), ("h[[:digit:]]llo", "hello", False),
]


@pytest.mark.parametrize(("glob", "path", "included"), DOC_MATCHES)
def test_pattern_matches_as_filtering_md_says(glob: str, path: str, included: bool) -> None:
    rules = Filter()
    rules.add(True, glob)
    rules.add(False, "*")
    assert rules.include_file(path) is included


def test_ignore_case_matches_any_case() -> None:
    rules = Filter(ignore_case=True)
    rules.add(True, "potato")
    rules.add(False, "*")
    assert rules.include_file("POTATO") and rules.include_file("potato")


def _rules(*lines: str) -> Filter:
    made = Filter()
    for line in lines:
        made.add_rule(line)
    return made


def test_first_matching_rule_wins_and_bang_clears() -> None:
    # filter_test.go TestNewFilterMatches
    rules = _rules("+ cleared", "!", "- /file1.jpg", "+ /file2.png", "+ /*.jpg", "- /*.png", "- /potato",
                   "+ /sausage1", "+ /sausage2*", "+ /sausage3**", "+ /a/*.jpg", "- *")
    files = {"cleared": False, "file1.jpg": False, "file2.png": True, "FILE2.png": False, "afile2.png": False,
             "file3.jpg": True, "file4.png": False, "potato": False, "sausage1": True,
             "sausage1/potato": False, "sausage2potato": True, "sausage2/potato": False,
             "sausage3/potato": True, "a/one.jpg": True, "a/one.png": False, "unicorn": False}
    assert {path: rules.include_file(path, 100) for path in files} == files
    dirs = {"sausage1": False, "sausage2": False, "sausage2/sub": False, "sausage2/sub/dir": False,
            "sausage3": True, "SAUSAGE3": False, "sausage3/sub": True, "sausage3/sub/dir": True,
            "sausage4": False, "a": True}
    assert {path: rules.include_dir(path) for path in dirs} == dirs


def test_raw_regexp_sections() -> None:
    # filter_test.go TestNewFilterMatchesRegexp; `(?i)` inside a group works as in Go
    rules = _rules(r"+ /{{file\d+\.png}}", "+ *.{{(?i)jpg}}", "- *")
    files = {"file2.png": True, "sub/file2.png": False, "file123.png": True, "File123.png": False,
             "something.jpg": True, "deep/path/something.JPG": True, "something.gif": False}
    assert {path: rules.include_file(path) for path in files} == files
    assert rules.include_dir("anything at all")


@pytest.mark.parametrize(("include", "glob", "dump"), [
    (False, "potato", "--- File filter rules ---\n- (^|/)potato$\n--- Directory filter rules ---"),
    (True, "potato", "--- File filter rules ---\n+ (^|/)potato$\n--- Directory filter rules ---\n+ ^.*$"),
    (False, "potato/", "--- File filter rules ---\n- (^|/)potato/.*$\n--- Directory filter rules ---\n- (^|/)potato/.*$"),
    (True, "potato/", "--- File filter rules ---\n--- Directory filter rules ---\n+ (^|/)potato/$"),
    (False, "*", "--- File filter rules ---\n- (^|/)[^/]*$\n--- Directory filter rules ---\n- ^.*$"),
    (True, "*", "--- File filter rules ---\n+ (^|/)[^/]*$\n--- Directory filter rules ---\n+ ^.*$"),
    (False, ".*{,/**}", ("--- File filter rules ---\n- (^|/)\\.[^/]*(|/.*)$\n--- Directory filter rules ---\n"
                         "- (^|/)\\.[^/]*(|/.*)$")),
    (True, "a/b/c/d", ("--- File filter rules ---\n+ (^|/)a/b/c/d$\n--- Directory filter rules ---\n"
                       "+ (^|/)a/b/c/$\n+ (^|/)a/b/$\n+ (^|/)a/$")),
])
def test_a_glob_makes_file_and_directory_rules_as_rclone(include: bool, glob: str, dump: str) -> None:
    # filter_test.go TestFilterAddDirRuleOrFileRule
    rules = Filter()
    rules.add(include, glob)
    assert rules.dump() == dump


def test_flags_are_added_in_rclones_fixed_order_whatever_the_command_line_order() -> None:
    # filter_test.go TestNewFilterFullExceptFilesFromOpt
    options = FilterOptions(
        filter=["- filter1", "- filter1b"], filter_from=[["#comment", "+ filter2", "- filter3"]],
        exclude=["exclude1"], exclude_from=[["#comment", "exclude2", "exclude3"]],
        include=["include1"], include_from=[["#comment", "include2", "include3"]],
        min_size="100k", max_size="1000k",
    )
    assert Filter.from_options(options).dump().split("\n") == [
        "Minimum size is: 100 KiB", "Maximum size is: 1000 KiB", "--- File filter rules ---",
        "+ (^|/)include1$", "+ (^|/)include2$", "+ (^|/)include3$",
        "- (^|/)exclude1$", "- (^|/)exclude2$", "- (^|/)exclude3$",
        "- (^|/)filter1$", "- (^|/)filter1b$", "+ (^|/)filter2$", "- (^|/)filter3$", "- ^.*$",
        "--- Directory filter rules ---", "+ ^.*$", "- ^.*$",
    ]


def test_an_include_excludes_the_rest() -> None:
    rules = Filter.from_options(FilterOptions(include=["*.jpg"]))
    assert rules.include_file("a/b.jpg") and not rules.include_file("a/b.png")
    assert rules.include_dir("a")  # a *.jpg may lie in any directory


def test_an_include_of_a_subtree_prunes_other_directories() -> None:
    rules = Filter.from_options(FilterOptions(include=["/photos/**"]))
    assert rules.include_dir("photos") and rules.include_dir("photos/2024")
    assert not rules.include_dir("music")
    assert rules.include_file("photos/2024/a.jpg") and not rules.include_file("music/a.mp3")


def test_excluding_a_directory_excludes_everything_below_it() -> None:
    rules = Filter.from_options(FilterOptions(exclude=["cache/"]))
    assert not rules.include_dir("cache") and not rules.include_dir("x/cache")
    assert not rules.include_file("cache/a") and rules.include_file("cachefile")
    assert rules.include_dir("caches")


def test_anchored_excludes_only_at_the_root() -> None:
    rules = Filter.from_options(FilterOptions(exclude=["/tmp/"]))
    assert not rules.include_dir("tmp") and rules.include_dir("a/tmp")


def test_malformed_filter_rule_is_a_usage_error() -> None:
    with pytest.raises(FilterError, match="malformed rule"):
        Filter.from_options(FilterOptions(filter=["potato"]))


def test_rule_files_drop_comments_and_blank_lines() -> None:
    # filter_test.go testFilterForEachLine
    text = "; comment\none\n# another comment\n\n\ntwo\n # indented comment\nthree  \nfour    \nfive\n  six  "
    assert list(rule_lines(text.split("\n"))) == ["one", "two", "three", "four", "five", "six"]


def test_bang_in_a_filter_file_clears_the_rules_before_it() -> None:
    rules = Filter.from_options(FilterOptions(exclude=["*.tmp"], filter_from=[["!", "- *.log"]]))
    assert rules.include_file("a.tmp") and not rules.include_file("a.log")


# -- sizes, ages, shards ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "size"), [
    ("0", 0), ("100b", 100), ("100B", 100), ("10", 10 * 1024), ("10k", 10 * 1024), ("10K", 10 * 1024),
    ("1.5M", 1536 * 1024), ("1m", 1 << 20), ("2G", 2 << 30), ("1T", 1 << 40), ("1P", 1 << 50),
    ("1Ki", 1024), ("1MiB", 1 << 20), ("0.5k", 512),
])
def test_sizes_in_rclones_units(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "k", "1x", "-1k", "1.2.3M", "1ib"])
def test_bad_size_is_a_usage_error(text: str) -> None:
    with pytest.raises(FilterError):
        parse_size(text)


NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), ("90s", 90), ("500ms", 0.5), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1.5h", 5400),
    ("7d", 7 * 86400), ("2w", 14 * 86400), ("1M", 30 * 86400), ("1y", 365 * 86400), ("0", 0),
])
def test_ages_in_rclones_units(text: str, seconds: float) -> None:
    assert parse_age(text, NOW) == timedelta(seconds=seconds)


def test_age_as_a_date_is_the_time_since_it() -> None:
    assert parse_age("2026-05-31T12:00:00Z", NOW) == timedelta(days=1)
    local = datetime(2026, 5, 30).astimezone()
    assert parse_age("2026-05-30", NOW) == NOW - local


def test_bad_age_is_a_usage_error() -> None:
    with pytest.raises(FilterError, match="bad age"):
        parse_age("soon", NOW)


def test_size_limits_are_inclusive_and_unknown_size_counts_as_minus_one() -> None:
    at_most = Filter.from_options(FilterOptions(max_size="100b"))
    assert at_most.include_file("a", 100) and not at_most.include_file("a", 101) and at_most.include_file("a", None)
    at_least = Filter.from_options(FilterOptions(min_size="100b"))
    assert at_least.include_file("a", 100) and not at_least.include_file("a", 99) and not at_least.include_file("a", None)


def test_age_limits_compare_modification_times() -> None:
    rules = Filter.from_options(FilterOptions(min_age="1h", max_age="1d"), now=NOW)
    assert rules.include_file("a", 1, NOW - timedelta(hours=2))
    assert not rules.include_file("a", 1, NOW - timedelta(minutes=5))  # too young
    assert not rules.include_file("a", 1, NOW - timedelta(days=2))  # too old
    assert not rules.include_file("a", 1, None)  # unknown: not in scope


def test_min_age_larger_than_max_age_is_refused() -> None:
    with pytest.raises(FilterError, match="can't be larger"):
        Filter.from_options(FilterOptions(min_age="2d", max_age="1d"), now=NOW)


@pytest.mark.parametrize("text", ["", "1", "1/0", "2/2", "-1/2", "a/b", "1/2/3", "0/-1"])
def test_bad_shard_is_a_usage_error(text: str) -> None:
    with pytest.raises(FilterError) as raised:
        parse_shard(text)
    assert raised.value.exit_code == 2


def test_shards_are_rclones_hash_filter_partitions() -> None:
    # filter_test.go TestNewFilterHashFilter: the partitions rclone computes for these names
    e1, e2 = "file\u03011.jpg", "fil\u00e91.jpg"  # é decomposed and precomposed: one shard
    expected = {"file1.jpg": 0, "FILE1.jpg": 0, "file2.jpg": 2, "File2.jpg": 2, "file3.jpg": 1,
                "file4.jpg": 2, "file5.jpg": 0, "file6.jpg": 1, "file7.jpg": 3, "file8.jpg": 3,
                "file9.jpg": 1, e1: 3, e2: 3, "hello" + e1: 2, "HELLO" + e2: 2, "hello1" + e1: 1,
                "Hello1" + e2: 1}
    assert {name: shard_of(name, 4) for name in expected} == expected


def test_shards_of_a_tree_are_disjoint_and_cover_it() -> None:
    paths = [f"d{i % 7}/f{i}.txt" for i in range(500)]
    shards = [{p for p in paths if Filter.from_options(FilterOptions(shard=f"{k}/3")).include_file(p)} for k in range(3)]
    assert set().union(*shards) == set(paths)
    assert sum(len(s) for s in shards) == len(paths)
    assert all(shards)


def test_shard_applies_after_the_path_rules() -> None:
    rules = Filter.from_options(FilterOptions(shard="0/4", exclude=["*.bin"]))
    assert rules.include_file("file1.jpg") and not rules.include_file("exclude.bin")
    assert rules.include_dir("any")  # directories are never sharded: every shard walks them


def test_an_include_before_a_directory_exclude_still_enters_it_as_rclone() -> None:
    # includes are added first, and `hello.txt` may lie in any directory: `+ ^.*$` decides first
    rules = Filter.from_options(FilterOptions(include=["hello.txt"], exclude=["nested/"]))
    assert rules.include_dir("dir/nested") and not rules.include_file("dir/nested/a.bin")
    ordered = Filter.from_options(FilterOptions(filter=["- nested/", "+ hello.txt", "- *"]))
    assert not ordered.include_dir("dir/nested") and ordered.include_file("dir/hello.txt")

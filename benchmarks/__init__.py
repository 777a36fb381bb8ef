"""genrostore's benchmark suite (issue 7): genrostore against cp, md5sum, rclone, s5cmd and aws.

Run on demand, never by the test suite: `python -m benchmarks` (see docs/benchmarks.md).
"""

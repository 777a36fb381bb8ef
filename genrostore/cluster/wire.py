"""What a batch carries to a worker: mount references and paths, never a Node or a secret.

A worker rebuilds its mounts from its own profile and environment (`MountRef.name` of a
profile mount), or from the profile the client shipped (`--ship-profile`, `Shipped`); errors
come back as (class name, message, hint, where), rebuilt on the client as the same class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from genrostore.core import errors
from genrostore.core.errors import GenrostoreError, UsageError

if TYPE_CHECKING:
    from genrostore.core.mount import Mount
    from genrostore.core.storage import Storage

WireError = tuple[str, str, "str | None", "str | None"]


@dataclass(frozen=True)
class MountRef:
    """A mount by profile name, or an ad-hoc one (a local path, a URL) by type and options."""

    name: str
    type: str = ""
    options: tuple[tuple[str, Any], ...] = ()

    def __repr__(self) -> str:  # what Dask may show: the name only
        return f"MountRef({self.name!r})"


@dataclass(frozen=True)
class Shipped:
    """`--ship-profile`: the client's resolved mounts as dicts, and the options of its ad-hoc
    mounts that hold a secret (by an opaque id: their MountRef carries only that id). It
    reaches the workers as scattered data (`driver.Runner`), never inside a task, so the
    scheduler holds its key only; never shown in a repr or a log."""

    mounts: list[dict[str, Any]] = field(default_factory=list)
    adhoc: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # id → (type, options)

    def __repr__(self) -> str:
        return f"Shipped({len(self.mounts)} mounts)"


class Packed:
    """A batch's items as one object that dask does not walk (it walks lists and tuples)."""

    __slots__ = ("items",)

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def __getstate__(self) -> list[Any]:
        return self.items

    def __setstate__(self, items: list[Any]) -> None:
        self.items = items

    def __repr__(self) -> str:
        return f"Packed({len(self.items)} items)"


@dataclass(frozen=True)
class Job:
    """What every batch of one command shares: how workers build their Storage, and the flags."""

    token: str  # opaque: a uuid, also the prefix of the job's task keys
    profile_path: str | None = None  # --profile FILE, for workers that share the client's disk
    shipped: Shipped | None = None
    dry_run: bool = False
    no_clobber: bool = False
    checksum: bool = False
    jobs: int = 4  # transfers at once inside one batch, on the worker
    method: str = "size"  # check: the comparison the client resolved
    download: bool = False


def mount_ref(storage: Storage, mount: Mount, *, shipping: bool, shipped: Shipped | None = None) -> MountRef:
    """How a worker finds `mount` again; an ad-hoc mount holding a secret (a URL with a
    password) travels only with --ship-profile, as an id into the shipped profile."""
    if mount.name in storage.mount_configs:
        return MountRef(mount.name)
    secrets = mount.spec.secrets(mount.options)
    if secrets and not shipping:
        raise UsageError(f"{mount.label('')}: its credentials are in the address; --cluster sends no secrets",
                         hint="name it in the profile the workers read, or add --ship-profile")
    if secrets and shipped is not None:
        for key, (kind, options) in shipped.adhoc.items():
            if kind == mount.spec.type and options == mount.options:
                return MountRef(mount.name, SHIPPED, (("id", key),))
    return MountRef(mount.name, mount.spec.type, tuple(sorted(mount.options.items())))


SHIPPED = "shipped"  # MountRef.type of an ad-hoc mount whose options are in the shipped profile


def shipped_profile(storage: Storage, adhoc: list[Mount]) -> Shipped:
    """Every mount of the client's profile, resolved (variables substituted), as dicts; and
    the options of the job's ad-hoc mounts that hold a secret."""
    mounts = []
    for name, config in storage.mount_configs.items():
        if config.error is None:
            mounts.append({"name": name, "type": config.spec.type, **config.options})
    secret = [m for m in adhoc if m.name not in storage.mount_configs and m.spec.secrets(m.options)]
    return Shipped(mounts, {str(i): (m.spec.type, dict(m.options)) for i, m in enumerate(secret)})


def to_wire(error: BaseException) -> WireError:
    if isinstance(error, GenrostoreError):
        return type(error).__name__, error.message, error.hint, error.where
    return "GenrostoreError", f"{type(error).__name__}: {error}", None, None


def from_wire(wire: WireError) -> GenrostoreError:
    name, message, hint, where = wire
    cls = getattr(errors, name, GenrostoreError)
    if not (isinstance(cls, type) and issubclass(cls, GenrostoreError)):
        cls = GenrostoreError
    try:
        error = cls(message, hint=hint, where=where)
    except TypeError:  # a class with its own constructor (PartialFailure): keep the text and the code
        error = GenrostoreError(message, hint=hint, where=where)
        error.exit_code = getattr(cls, "exit_code", errors.ERROR)
    return error

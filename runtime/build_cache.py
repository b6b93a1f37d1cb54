"""The build cache of `vyn run FILE.vyn` (docs/cli.md, "The build cache").

As Go's build cache or CPython's `__pycache__`: `vyn run` of a source file stores what it
compiled, an image (docs/image.md) with the program's bytecode and, once the JIT has
compiled some, native code for the functions that got hot, and a later run of the same
sources with the same toolchain loads that image instead of running the front end (and
LLVM). A cached run is `vyn run IMAGE` of that image, with the source file's name as
`argv[0]` and the compile warnings the first run printed.

The directory is `$XDG_CACHE_HOME/vyn` (default `~/.cache/vyn`); `VYN_CACHE=off` turns the
cache off and `VYN_CACHE=DIR` puts it in DIR. Two kinds of files, as in Go's cache:

    run/KK/KEY        the index entry of one build: `vyn-cache 1 DIGEST`
    img/DD/DIGEST     an image, named by the SHA-256 of its bytes
    trimmed           when old entries were last looked for

and, beside them, the collector's native core (`gc/KEY.o`, runtime/heap_native.py) and the
DWARF indexes profiles of native code read (`dwarf/KEY`, runtime/jit.py).

As in Go's cache, an index entry's modification time is when it was last used (updated at
most hourly), and a store removes, at most once a day, entries unused for five days.

KEY is the SHA-256 of the toolchain's identity (the version, the size and modification
time of every module of `compiler/` and `runtime/` and of `vyndbg/cli.py`, as CPython
checks a `.pyc`, and llvmlite's library), the working directory, the file's name as given
and its text. The
files it imports are checked after the key matches: the image's `.vyn.cache` section lists
every file the compiler's import loader looked for, with the SHA-256 of its bytes (or that
it did not exist), and any difference is a miss.

Nothing read from the cache is trusted: an image whose bytes do not hash to its name, that
the image reader or the program loader reject, or that was stored under another key (its
`.vyn.cache` section names the key), or an index entry that does not parse, is a miss,
and the run compiles and stores a fresh entry. Files are written to a temporary name and
renamed, so concurrent runs never see half a file; the last rename wins. A hit
keeps the image open and hands the JIT `/proc/self/fd/N`: the native code it loads later is
the very file that was checked, even if another run replaces or deletes it meanwhile.

Imports stay light on a hit: the image reader and program loader only; the front end,
the serializer and the image writer (llvmlite) are imported when storing.
"""

from __future__ import annotations

import os
import struct
import sys
import time
from collections.abc import Callable, Iterable, Mapping

from compiler.image_format import sha256

CACHE_ENV = "VYN_CACHE"
CACHE_SECTION = ".vyn.cache"      # deps and warnings, for the cache only (ignored by loaders)
INDEX_MAGIC = "vyn-cache 1 "
TRIM_AGE = 5 * 24 * 3600          # entries unused this long are removed (as Go's cache)
TRIM_EVERY = 24 * 3600            # how often a store looks for them
_CACHE_FORMAT = 1
_TOOLCHAIN_DIRS = ("compiler", "runtime")
_TOOLCHAIN_FILES = ("vyndbg/cli.py",)     # its import loader decides which files are read


def cache_dir(environ: Mapping[str, str] | None = None) -> str | None:
    """The cache directory, or None when `VYN_CACHE=off` (or no home directory)."""
    env = os.environ if environ is None else environ
    choice = env.get(CACHE_ENV, "").strip()
    if choice.lower() in ("off", "0", "no", "false"):
        return None
    if choice and choice.lower() not in ("on", "1", "yes", "true"):
        return os.path.abspath(choice)
    base = env.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "vyn")


_toolchain: bytes | None = None


def toolchain_id() -> bytes:
    """What identifies this toolchain's output: its version, every module of the compiler
    and the runtime (and the command line's import loader) by size and modification time,
    llvmlite's library, Python's version."""
    global _toolchain
    if _toolchain is not None:
        return _toolchain
    from vyndbg import __version__

    h = sha256(f"vyn {__version__}\0python {sys.version}\0".encode())
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for sub in _TOOLCHAIN_DIRS:
        try:
            entries = sorted(os.scandir(os.path.join(root, sub)), key=lambda e: e.name)
        except OSError:
            continue
        for e in entries:
            if e.name.endswith(".py"):
                try:
                    st = e.stat()
                except OSError:
                    continue
                h.update(f"{sub}/{e.name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    for name in _TOOLCHAIN_FILES:
        try:
            st = os.stat(os.path.join(root, name))
        except OSError:
            continue
        h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    h.update(_llvmlite_id())
    _toolchain = h.digest()
    return _toolchain


def _llvmlite_id() -> bytes:
    """llvmlite's shared library (size, modification time): LLVM's version decides the
    native code. Found without importing llvmlite: on sys.path, as the import system would
    find an installed package, else through importlib (which costs 1 ms to import)."""
    locations = [os.path.join(d or ".", "llvmlite") for d in sys.path
                 if os.path.isfile(os.path.join(d or ".", "llvmlite", "__init__.py"))][:1]
    if not locations:
        import importlib.util

        try:
            spec = importlib.util.find_spec("llvmlite")
            locations = list(spec.submodule_search_locations or []) if spec else []
        except (ImportError, ValueError):
            locations = []
    for loc in locations:
        binding = os.path.join(loc, "binding")
        try:
            names = sorted(n for n in os.listdir(binding) if ".so" in n or n.endswith(".dll"))
        except OSError:
            continue
        out = []
        for n in names:
            try:
                st = os.stat(os.path.join(binding, n))
            except OSError:
                continue
            out.append(f"{n}\0{st.st_size}\0{st.st_mtime_ns}\0")
        return ("llvmlite\0" + "".join(out)).encode()
    return b"no llvmlite\0"


def _fs(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def source_key(name: str, text: str, variant: str = "") -> str:
    """The index key of a build of the source file `name` holding `text`; `variant`:
    "traced" for the entry of `vyn run --trace` (its native code reports calls)."""
    h = sha256(b"vyn-run-cache\0")
    h.update(toolchain_id())
    h.update(variant.encode("ascii") + b"\0")
    h.update(_fs(os.getcwd()) + b"\0" + _fs(name) + b"\0")
    h.update(sha256(text.encode("utf-8", "surrogatepass")).digest())
    return h.hexdigest()


# -- the .vyn.cache section ------------------------------------------------------------------

_U32 = struct.Struct("<I")


def encode_cache_section(key: str, deps: Iterable[tuple[str, bytes | None]],
                         warnings: tuple[str, str]) -> bytes:
    """`key`: the index key the image is stored under (an image found under another key
    is not used); `deps`: (path, SHA-256 of its bytes, or None: no such file);
    `warnings`: the diagnostics as printed without and with colour ("" for none)."""
    raw_key = key.encode("ascii")
    out = [_U32.pack(_CACHE_FORMAT), _U32.pack(len(raw_key)), raw_key]
    deps = list(deps)
    out.append(_U32.pack(len(deps)))
    for path, digest in deps:
        raw = _fs(path)
        out.append(_U32.pack(len(raw)) + raw + (b"\1" + digest if digest else b"\0"))
    for text in warnings:
        raw = text.encode("utf-8", "surrogatepass")
        out.append(_U32.pack(len(raw)) + raw)
    return b"".join(out)


def decode_cache_section(data: bytes
                         ) -> tuple[str, list[tuple[str, bytes | None]], tuple[str, str]]:
    """The inverse of `encode_cache_section`. Raises ValueError if malformed."""
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if n < 0 or pos + n > len(data):
            raise ValueError("truncated")
        chunk = data[pos:pos + n]
        pos += n
        return chunk

    def u32() -> int:
        return _U32.unpack(take(4))[0]

    if u32() != _CACHE_FORMAT:
        raise ValueError("version")
    key = take(u32()).decode("ascii")
    deps = []
    for _ in range(u32()):
        path = take(u32()).decode("utf-8", "surrogateescape")
        flag = take(1)
        if flag not in (b"\0", b"\1"):
            raise ValueError("flag")
        deps.append((path, take(32) if flag == b"\1" else None))
    warnings = tuple(take(u32()).decode("utf-8", "surrogatepass") for _ in range(2))
    if pos != len(data):
        raise ValueError("trailing bytes")
    return key, deps, warnings


def file_digest(path: str) -> bytes | None:
    """SHA-256 of the file's bytes; None if it is not a readable regular file."""
    try:
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return sha256(f.read()).digest()
    except OSError:
        return None


def recording_loader(load: Callable, deps: list[tuple[str, bytes | None]]) -> Callable:
    """Wrap the compiler's import loader (vyndbg.cli.import_loader): note in `deps` the
    file each import looked for, and whether it was there."""
    from compiler.span import SourceFile

    def recorded(importer: SourceFile, path: list[str]):
        imported = os.path.normpath(
            os.path.join(os.path.dirname(importer.name), f"{path[0]}.vyn"))
        found = load(importer, path)
        if all(p != imported for p, _ in deps):
            deps.append((imported, file_digest(imported) if found is not None else None))
        return found

    return recorded


# -- looking up and storing ------------------------------------------------------------------

class Hit:
    """A usable entry: the program, and what the run needs from the image."""

    def __init__(self, program: object, image_path: str, sections: Mapping[str, bytes],
                 warnings: tuple[str, str], native_opt: int | None,
                 native_functions: frozenset[int] = frozenset(), fd: int = -1) -> None:
        self.program = program              # compiler.bytecode.Program
        self.image_path = image_path        # /proc/self/fd/N: the checked image, kept open
        self.sections = sections
        self.warnings = warnings
        self.native_opt = native_opt        # the tier of the image's native code, None if none
        self.native_functions = native_functions
        self.fd = fd

    def close(self) -> None:
        """Let the image go (after the run: the JIT loads native code only while it runs)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class BuildCache:
    def __init__(self, root: str) -> None:
        self.root = root
        self.misses: list[str] = []       # why the last lookup missed

    @classmethod
    def open(cls) -> BuildCache | None:
        root = cache_dir()
        return None if root is None else cls(root)

    def _index_path(self, key: str) -> str:
        return os.path.join(self.root, "run", key[:2], key)

    def _image_path(self, digest: str) -> str:
        return os.path.join(self.root, "img", digest[:2], digest)

    def _read_index(self, key: str) -> str | None:
        """The image digest the index entry `key` names; None if there is none or it does
        not parse."""
        try:
            with open(self._index_path(key), encoding="ascii") as f:
                line = f.read(200)
        except (OSError, ValueError):
            return None
        digest = line.removeprefix(INDEX_MAGIC).strip()
        if (not line.startswith(INDEX_MAGIC) or len(digest) != 64
                or any(c not in "0123456789abcdef" for c in digest)):
            return None
        return digest

    def lookup(self, key: str) -> Hit | None:
        """The entry stored under `key` if it is intact and its imports are unchanged."""
        digest = self._read_index(key)
        if digest is None:
            return self._miss("no entry, or a bad one")
        self._mark_used(key)
        path = self._image_path(digest)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return self._miss("no image")
        try:
            hit = self._check(fd, path, digest, key)
        except Exception as e:        # whatever the bytes: a miss, never a failure
            hit = self._miss(f"rejected: {type(e).__name__}: {e}")
        if hit is None:
            os.close(fd)
        return hit

    def _mark_used(self, key: str) -> None:
        """As Go does: an entry's modification time says when it was last used, updated
        at most once an hour (trimming removes entries unused for TRIM_AGE)."""
        index = self._index_path(key)
        try:
            if time.time() - os.stat(index).st_mtime > 3600:
                os.utime(index)
        except OSError:
            pass

    def _miss(self, why: str) -> None:
        self.misses.append(why)
        return None

    def _check(self, fd: int, path: str, digest: str, key: str) -> Hit | None:
        with open(fd, "rb", closefd=False) as f:
            data = f.read()
        if sha256(data).hexdigest() != digest:
            return self._miss("image checksum")
        from runtime.image import parse_image
        from runtime.loader import sections_to_program

        image = parse_image(data, path)
        sections = image.sections
        if CACHE_SECTION not in sections:
            return self._miss("no cache section")
        stored_key, deps, warnings = decode_cache_section(sections[CACHE_SECTION])
        if stored_key != key:
            return self._miss("image of another build")
        for dep, want in deps:
            if file_digest(dep) != want:
                return self._miss(f"import changed: {dep}")
        program = sections_to_program(sections, path)
        opt, functions = None, frozenset()
        manifest = sections.get(".vyn.native")
        if manifest:
            from compiler.native import decode_manifest

            opt, fns = decode_manifest(manifest)
            functions = frozenset(fns)
            if not functions:
                opt = None
        # The JIT reads the image again (its native code) by path, later: the open file,
        # wherever /proc shows it (the file that was checked), else the path.
        pinned = f"/proc/self/fd/{fd}"
        return Hit(program, pinned if os.path.exists(pinned) else path, sections, warnings,
                   opt, functions, fd)

    def store(self, key: str, sections: Mapping[str, bytes], native_ir: str | None = None,
              opt: int = 0) -> str:
        """Write the image of `sections` (and `native_ir`, linked in at code generator
        level `opt`), then the index entry `key` naming it. Returns the image's path.

        Raises:
            OSError, compiler.image_writer.ImageWriteError: it could not be written.
        """
        from compiler.image_writer import build_image_bytes

        kwargs = {"llvm_ir_module": native_ir, "opt": opt} if native_ir is not None else {}
        data = build_image_bytes(sections, **kwargs)
        digest = sha256(data).hexdigest()
        path = self._image_path(digest)
        previous = self._read_index(key)
        write_atomically(path, data)
        write_atomically(self._index_path(key), f"{INDEX_MAGIC}{digest}\n".encode("ascii"))
        if previous is not None and previous != digest:
            # The image it replaces belongs to this key alone (images name their key); a
            # run using it holds it open, so removing it is safe.
            _remove_quietly(self._image_path(previous))
        self.trim()
        return path

    def trim(self, now: float | None = None) -> None:
        """At most once a day (the time is kept in `trimmed`): remove the entries not
        used for TRIM_AGE, their images, images no entry names that are as old, and
        collector cores (`gc/`) made as long ago."""
        now = time.time() if now is None else now
        stamp = os.path.join(self.root, "trimmed")
        try:
            if now - os.stat(stamp).st_mtime < TRIM_EVERY:
                return
        except OSError:
            pass
        write_atomically(stamp, b"")
        named = set()
        for index in _files(os.path.join(self.root, "run")):
            key = os.path.basename(index)
            digest = self._read_index(key)
            try:
                old = now - os.stat(index).st_mtime > TRIM_AGE
            except OSError:
                continue
            if old:
                _remove_quietly(index)
                if digest is not None:
                    _remove_quietly(self._image_path(digest))
            elif digest is not None:
                named.add(digest)
        for image in _files(os.path.join(self.root, "img")):
            try:
                old = now - os.stat(image).st_mtime > TRIM_AGE
            except OSError:
                continue
            if old and os.path.basename(image) not in named:
                _remove_quietly(image)
        # The collector's native core (runtime/heap_native.py, `gc/KEY.o`), one per
        # toolchain, and native code's DWARF indexes for profiles (runtime/jit.py,
        # `dwarf/KEY`): an old one is made again when it is next wanted.
        for sub in ("gc", "dwarf"):
            try:
                found = list(os.scandir(os.path.join(self.root, sub)))
            except OSError:
                found = []
            for entry in found:
                try:
                    if entry.is_file() and now - entry.stat().st_mtime > TRIM_AGE:
                        _remove_quietly(entry.path)
                except OSError:
                    continue


def _files(directory: str) -> list[str]:
    """The files one level down (`run/KK/KEY`, `img/DD/DIGEST`), temporary ones aside."""
    out = []
    try:
        subdirs = list(os.scandir(directory))
    except OSError:
        return out
    for sub in subdirs:
        try:
            out.extend(e.path for e in os.scandir(sub.path)
                       if e.is_file() and not e.name.startswith("."))
        except OSError:
            continue
    return out


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def write_atomically(path: str, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`. No
    fsync: a file cut short by a crash fails its checksum and is rebuilt."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    temp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}."
                        f"{os.urandom(4).hex()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temp, path)
    except BaseException:
        _remove_quietly(temp)
        raise

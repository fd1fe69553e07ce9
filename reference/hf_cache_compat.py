#!/usr/bin/env python3
"""The Hugging Face cache, both ways: ovis-ts and huggingface_hub must read each other's downloads.

(a) huggingface_hub -> ovis: starts test/hub/fake-hub.mjs (node) on a small repo, points
    HF_ENDPOINT at it, lets huggingface_hub's own snapshot_download fill a cache (main and the
    branch v1.0) and, with --write-fixture, copies it (symlinks intact) to
    reference/fixtures/hf-cache/hub/ with PROVENANCE.json beside it. test/hub/hf-compat.test.ts
    resolves that committed cache with ovis' resolver.
(b) ovis -> huggingface_hub: `node dist/cli/main.js download` fills a fresh cache from the same
    fake Hub; huggingface_hub reads it offline (snapshot_download / hf_hub_download with
    local_files_only=True, scan_cache_dir) and every path, content, ref and size is compared.

Exits non-zero on any mismatch. Run from the repository root after `npm run build`:
    reference/.venv/bin/python reference/hf_cache_compat.py [--write-fixture] [--only b]
"""

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "reference" / "fixtures" / "hf-cache"
FORMAT_VERSION = 1
REPO = "org/tiny-compat"
BRANCH = "v1.0"

failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(f"  {'OK    ' if ok else 'NOT OK'} {what}")
    if not ok:
        failures.append(what)


def tiny_safetensors() -> bytes:
    """A 2x3 f32 tensor in safetensors format, written by hand (no torch/numpy needed)."""
    data = struct.pack("<6f", 0.5, -1.0, 2.0, 3.25, -0.125, 7.0)
    header = json.dumps({"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, len(data)]}},
                        separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + data


def make_repo(root: Path) -> dict[str, bytes]:
    files = {
        "config.json": json.dumps({"model_type": "tiny-compat", "hidden_size": 3}, indent=2).encode() + b"\n",
        "model.safetensors": tiny_safetensors(),  # *.safetensors: "LFS" on the fake Hub (sha256 etag, CDN redirect)
        "README.md": b"# tiny-compat\n\nA fixture for the Hugging Face cache layout (reference/hf_cache_compat.py).\n",
        "nested/deeper/notes.txt": b"a file two folders down: its snapshot symlink climbs ../../../../blobs\n",
    }
    for rel, data in files.items():
        p = root / REPO / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


class FakeHub:
    def __init__(self, root: Path):
        self.proc = subprocess.Popen(
            ["node", str(ROOT / "test" / "hub" / "fake-hub.mjs"), "--root", str(root), "--port", "0",
             "--revision", f"{REPO}={BRANCH}", "--max-seconds", "300"],
            stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self.close()
            sys.exit(f"fake hub did not start (got {self.url!r}); is node installed?")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def tree(cache: Path) -> dict[str, str]:
    """Every path under `cache` -> 'dir', 'link -> target' or 'file <size>' (for printing / comparing)."""
    out = {}
    for p in sorted(cache.rglob("*")):
        rel = p.relative_to(cache).as_posix()
        if rel.startswith(".locks") or "/.no_exist" in rel:
            continue
        out[rel] = f"link -> {os.readlink(p)}" if p.is_symlink() else "dir" if p.is_dir() else f"file {p.stat().st_size}"
    return out


def part_a(work: Path, files: dict[str, bytes], write_fixture: bool, hub_url: str) -> None:
    print("(a) huggingface_hub fills a cache from the fake Hub")
    import huggingface_hub
    from huggingface_hub import snapshot_download

    cache = work / "hf-made" / "hub"
    main = Path(snapshot_download(REPO, cache_dir=cache, endpoint=hub_url))
    branch = Path(snapshot_download(REPO, revision=BRANCH, cache_dir=cache, endpoint=hub_url))
    storage = cache / f"models--{REPO.replace('/', '--')}"
    check(main.parent == storage / "snapshots" and branch.parent == storage / "snapshots", "snapshots live in models--org--tiny-compat/snapshots/<sha>")
    check((storage / "refs" / "main").read_text() == main.name, "refs/main names the main snapshot")
    check((storage / "refs" / BRANCH).read_text() == branch.name, f"refs/{BRANCH} names the branch snapshot")
    for rel, data in files.items():
        check((main / rel).read_bytes() == data, f"huggingface_hub's {rel} has the served bytes")
    for name, line in tree(cache).items():
        print(f"    {name}: {line}")
    if write_fixture:
        if FIXTURE.exists():
            shutil.rmtree(FIXTURE)
        FIXTURE.mkdir(parents=True)
        shutil.copytree(cache, FIXTURE / "hub", symlinks=True, ignore=shutil.ignore_patterns(".locks"))
        shutil.rmtree(FIXTURE / "hub" / ".locks", ignore_errors=True)
        (FIXTURE / "PROVENANCE.json").write_text(json.dumps({
            "format_version": FORMAT_VERSION,
            "made_by": "reference/hf_cache_compat.py --write-fixture",
            "huggingface_hub": huggingface_hub.__version__,
            "repo": REPO,
            "revisions": {"main": main.name, BRANCH: branch.name},
            "files": {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()},
        }, indent=2) + "\n")
        print(f"  wrote {FIXTURE.relative_to(ROOT)}/ (hub/ + PROVENANCE.json)")


def part_b(work: Path, files: dict[str, bytes], hub_url: str) -> None:
    print("(b) ovis download fills a cache; huggingface_hub reads it offline")
    cache = work / "ovis-made"
    cli = ROOT / "dist" / "cli" / "main.js"
    if not cli.exists():
        sys.exit(f"{cli} is missing: run `npm run build` first")
    env = {**os.environ, "HF_ENDPOINT": hub_url}
    env.pop("HF_HUB_OFFLINE", None)
    snaps = {}
    for rev in ("main", BRANCH):
        r = subprocess.run(["node", str(cli), "download", REPO, "--revision", rev, "--cache-dir", str(cache), "-q"],
                           env=env, capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"ovis download {REPO} --revision {rev} exits 0 {r.stderr.strip()}")
        snaps[rev] = Path(r.stdout.strip())
    for name, line in tree(cache).items():
        print(f"    {name}: {line}")

    from huggingface_hub import hf_hub_download, scan_cache_dir, snapshot_download

    for rev, ours in snaps.items():
        theirs = Path(snapshot_download(REPO, revision=rev, cache_dir=cache, local_files_only=True))
        check(theirs == ours, f"snapshot_download(revision={rev!r}, local_files_only=True) -> {theirs.relative_to(cache)} (ovis printed {ours.relative_to(cache) if ours.is_relative_to(cache) else ours})")
        by_sha = Path(snapshot_download(REPO, revision=ours.name, cache_dir=cache, local_files_only=True))
        check(by_sha == ours, f"snapshot_download(revision=<sha of {rev}>) finds the same folder")
        for rel, data in files.items():
            p = Path(hf_hub_download(REPO, rel, revision=rev, cache_dir=cache, local_files_only=True))
            check(p == ours / rel and p.read_bytes() == data, f"hf_hub_download({rel!r}, revision={rev!r}) -> the served bytes")

    info = scan_cache_dir(cache)
    check(not info.warnings, f"scan_cache_dir: no warnings {[str(w) for w in info.warnings]}")
    repos = list(info.repos)
    check(len(repos) == 1 and repos[0].repo_id == REPO and repos[0].repo_type == "model", f"scan_cache_dir: one model repo {REPO}")
    if repos:
        repo = repos[0]
        refs = {ref for rev in repo.revisions for ref in rev.refs}
        check(refs == {"main", BRANCH}, f"scan_cache_dir: refs {sorted(refs)}")
        check(repo.nb_files == len(files), f"scan_cache_dir: {repo.nb_files} distinct blobs (both revisions share them), expected {len(files)}")
        check(repo.size_on_disk == sum(len(d) for d in files.values()), f"scan_cache_dir: size_on_disk {repo.size_on_disk}")
        for rev in repo.revisions:
            names = sorted(f.file_name if f.file_path.parent == rev.snapshot_path else f.file_path.relative_to(rev.snapshot_path).as_posix() for f in rev.files)
            check(names == sorted(files), f"scan_cache_dir: revision {rev.commit_hash[:8]} lists {names}")
            for f in rev.files:
                data = files[f.file_path.relative_to(rev.snapshot_path).as_posix()]
                sha = hashlib.sha256(data).hexdigest()
                git = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
                check(f.blob_path.name in (sha, git), f"blob of {f.file_name} is named by its etag ({f.blob_path.name[:12]}…)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write-fixture", action="store_true", help=f"replace {FIXTURE.relative_to(ROOT)}/ with the cache of (a)")
    ap.add_argument("--only", choices=["a", "b"], help="run one direction")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hf-compat-") as tmp:
        work = Path(tmp)
        files = make_repo(work / "repos")
        hub = FakeHub(work / "repos")
        # huggingface_hub reads HF_* once, at import: set them first. No token leaks to the fake Hub.
        os.environ["HF_ENDPOINT"] = hub.url
        for k in ("HF_HUB_OFFLINE", "HF_TOKEN", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
            os.environ.pop(k, None)
        os.environ["HF_HOME"] = str(work / "hf-home")
        import huggingface_hub
        print(f"huggingface_hub {huggingface_hub.__version__}, node {subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}, fake hub {hub.url}")
        try:
            if args.only in (None, "a"):
                part_a(work, files, args.write_fixture, hub.url)
            if args.only in (None, "b"):
                part_b(work, files, hub.url)
            if args.only is None:
                print("(a) = (b): the two caches side by side")
                ours, theirs = tree(work / "ovis-made"), tree(work / "hf-made" / "hub")
                for k in sorted(set(ours) | set(theirs)):
                    if ours.get(k) != theirs.get(k):
                        check(False, f"{k}: ovis {ours.get(k)}, huggingface_hub {theirs.get(k)}")
                check(ours == theirs, f"same {len(ours)} entries (folders, symlink targets, blob names and sizes, refs, trees/*.json)")
                for t in (work / "ovis-made").rglob("trees/*.json"):
                    other = work / "hf-made" / "hub" / t.relative_to(work / "ovis-made")
                    check(json.loads(t.read_text()) == json.loads(other.read_text()), f"{t.name}: same listing as huggingface_hub's")
        finally:
            hub.close()
    print(f"overall: {'OK' if not failures else f'{len(failures)} NOT OK'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

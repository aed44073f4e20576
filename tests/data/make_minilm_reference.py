"""Writes minilm_reference.json: sentence-transformers' own vectors for a
fixed set of sentences, against which memorid's built-in embedder is tested.

    python make_minilm_reference.py MODEL_DIR   (needs sentence-transformers)
"""
import json
import sys

from sentence_transformers import SentenceTransformer

SENTENCES = [
    "I prefer async Python for web services.",
    "My daughter's name is Ada and she is seven.",
    "Please answer in French from now on.",
    "The deployment failed because the database migration timed out.",
    "hello",
    "Ünïcödé, emoji 🎉 and punctuation?!",
    "SELECT * FROM facts WHERE entity_id = 'u1';",
    "The quick brown fox jumps over the lazy dog. " * 40,
    "I moved from Berlin to Lisbon last spring.",
    "Allergic to peanuts; avoid recipes with nuts.",
    "42",
    "She said: \"we ship on Fridays\" — never again.",
]

model = SentenceTransformer(sys.argv[1], device="cpu")
vectors = model.encode(SENTENCES, normalize_embeddings=False, batch_size=4)
out = {
    "model": "sentence-transformers/all-MiniLM-L6-v2",
    "max_seq_length": model.max_seq_length,
    "cases": [
        {"text": text, "vector": [round(float(x), 7) for x in vector]}
        for text, vector in zip(SENTENCES, vectors)
    ],
}
with open("minilm_reference.json", "w") as f:
    json.dump(out, f)
print(len(out["cases"]), "cases, max_seq_length", model.max_seq_length)

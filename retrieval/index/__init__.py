"""What ingest writes and search reads: the Chroma store, its manifest, embedders, BM25."""

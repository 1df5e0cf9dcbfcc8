"""The Keras tagger, its training and evaluation. Plain Keras + NumPy: no Beam imports."""

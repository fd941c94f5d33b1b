"""The Mini-Keras benchmark against PyTorch on the CPU: ``python -m bench`` (see ``bench/run.py``)."""

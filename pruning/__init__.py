"""Pruning of toy models of monosemanticity: IMP with rewinding and controls, SET/RigL/static sparse
training, per-neuron tracking across levels, and comparisons. Reads and writes models/ run directories.

The science is in plain functions (pruning.masks, .imp, .grow, .neurons, .compare); the `prune`
command line is a thin layer over them. Submodules are imported on use so `prune --help` is fast.
"""

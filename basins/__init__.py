"""Are monosemantic and polysemantic solutions in different basins? Alignment, barriers, curves, hops,
connectivity-based fine-tuning and basin maps, on run directories of models/."""

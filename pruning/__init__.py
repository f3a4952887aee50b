"""pruning/: reads and writes run directories of models/ (see its issue); not built yet."""

"""The update rules, one module per family: its ``scale_by_*`` transforms and its public rules, the
equations written next to the code that builds them."""

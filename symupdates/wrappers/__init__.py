"""Transforms around rules: clipping, norm constraints, masks and per-group rules, flattening, the NaN
guard, gradient accumulation, lookahead and parameter averages, row-sparse steps for embedding tables."""

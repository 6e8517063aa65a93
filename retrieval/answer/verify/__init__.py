"""Whether a generated sentence says what its cited sources say: numbers, names, negation, contacts."""

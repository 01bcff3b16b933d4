"""Bronze layer: raw files copied from the sources, byte for byte."""

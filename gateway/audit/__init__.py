"""The exchange record: one per attempt, metadata only; the leaf of the future Merkle log."""

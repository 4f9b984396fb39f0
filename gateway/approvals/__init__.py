"""The DPO's approval queue: allowed exchanges held until the DPO approves or rejects them."""

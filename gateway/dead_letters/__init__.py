"""Dead letters: messages the relay gave up on, which an operator lists, replays or discards."""

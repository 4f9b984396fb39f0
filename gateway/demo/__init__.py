"""The demo: stand-in destination systems on 127.0.0.1 and the flows that show the gateway."""

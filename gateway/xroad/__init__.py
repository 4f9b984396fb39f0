"""X-Road message protocol 4.0: the SOAP envelope, its faults, the WSDL, the REST headers.

Pure parts only (no web framework); the routes that use them are gateway/api/xroad.py.
"""

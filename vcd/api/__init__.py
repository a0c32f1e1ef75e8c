"""
The wire and the framework: the HTTP channel, XML-RPC parsing and
rendering, method and argument declarations, plugin discovery and the
dispatcher that enforces authentication, capabilities, owner rules and
locks for every method.
"""

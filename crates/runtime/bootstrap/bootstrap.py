# Nimbus's Python bootstrap: the runtime itself is the module next to this file, imported (and so
# compiled once into __pycache__) rather than run as a script.
import nimbus_runtime

nimbus_runtime.main()

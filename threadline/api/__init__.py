"""HTTP endpoints, one module per resource: decode -> authenticate -> store -> encode."""

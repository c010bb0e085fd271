// api.js: see docs/architecture/desktop.md (contract; being written)

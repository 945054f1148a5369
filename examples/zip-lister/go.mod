module github.com/wasi-memfd/wasi-memfd/examples/zip-lister

go 1.24

require github.com/wasi-memfd/wasi-memfd/guest/go v0.0.0

replace github.com/wasi-memfd/wasi-memfd/guest/go => ../../guest/go

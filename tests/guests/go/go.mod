module github.com/wasi-memfd/wasi-memfd/tests/guests/go

go 1.24

require github.com/wasi-memfd/wasi-memfd/guest/go v0.0.0

replace github.com/wasi-memfd/wasi-memfd/guest/go => ../../../guest/go

module github.com/wasi-memfd/wasi-memfd/examples/go-memdir

go 1.24

module github.com/wasi-memfd/wasi-memfd/guest/go

go 1.24

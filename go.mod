module github.com/lsms-edge/lsms

go 1.26

require (
	github.com/google/flatbuffers v25.12.19+incompatible // indirect
	github.com/spf13/pflag v1.1.0 // indirect
)

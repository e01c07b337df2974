module github.com/lsms-edge/lsms

go 1.26

require (
	github.com/emirpasic/gods v1.18.1 // indirect
	github.com/google/flatbuffers v25.12.19+incompatible // indirect
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	github.com/schollz/progressbar/v2 v2.15.0 // indirect
	github.com/spf13/pflag v1.1.0 // indirect
	github.com/sugarme/regexpset v0.0.0-20200920021344-4d4ec8eaf93c // indirect
	github.com/sugarme/tokenizer v0.3.0 // indirect
	golang.org/x/image v0.24.0 // indirect
	golang.org/x/text v0.25.0 // indirect
)

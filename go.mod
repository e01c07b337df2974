module github.com/lsms-edge/lsms

go 1.26

require (
	github.com/ebitengine/purego v0.11.3
	github.com/google/flatbuffers v25.12.19+incompatible
	github.com/jonboulle/clockwork v0.5.0
	github.com/spf13/pflag v1.1.0
	github.com/sugarme/tokenizer v0.3.0
	github.com/suyashkumar/dicom v1.1.0
	golang.org/x/image v0.24.0
	golang.org/x/text v0.25.0
	periph.io/x/conn/v3 v3.7.3
)

require (
	github.com/emirpasic/gods v1.18.1 // indirect
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	github.com/schollz/progressbar/v2 v2.15.0 // indirect
	github.com/sugarme/regexpset v0.0.0-20200920021344-4d4ec8eaf93c // indirect
	golang.org/x/exp v0.0.0-20240525044651-4c93da0ed11d // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/lsms-edge/lsms/internal/console"
	"github.com/lsms-edge/lsms/model"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "local web console: load slices, type an expression, see the mask, measurements and latency",
		usage:   "--model BUNDLE [--listen HOST:PORT] [--token T | --token-file F] [flags]",
		example: "lsms serve --model models/lsms-synth-f32            # http://127.0.0.1:8080/\n" +
			"lsms serve --model models/lsms-synth-f32 --listen 0.0.0.0:8080 --token-file /etc/lsms/console.token",
		setup: func(fs *pflag.FlagSet) func([]string, io.Writer, io.Writer) error {
			var o serveOpts
			fs.StringVar(&o.model, "model", "", "model bundle directory (required)")
			fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on; anything but loopback needs a token")
			fs.StringVar(&o.token, "token", "", "access token (at least 16 characters) required by the API; see --token-file")
			fs.StringVar(&o.tokenFile, "token-file", "", "read the access token from this file (keeps it out of the process list)")
			fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM; with --tls-key)")
			fs.StringVar(&o.tlsKey, "tls-key", "", "private key of --tls-cert (PEM)")
			fs.IntVar(&o.threads, "threads", 1, "kernel threads")
			fs.StringVar(&o.backend, "backend", "native", "inference backend")
			fs.Int64Var(&o.maxUploadMiB, "max-upload-mib", console.DefaultMaxUploadBytes>>20, "largest upload request, MiB")
			fs.Int64Var(&o.maxMemoryMiB, "max-memory-mib", console.DefaultMaxStoreBytes>>20, "HU kept in memory for loaded slices, MiB (oldest dropped first)")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %v", args)
				}
				srv, err := startServe(o, stderr)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "lsms serve: console at %s (model %s); Ctrl-C stops it\n", srv.url, srv.modelName)
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				select {
				case <-ctx.Done():
				case err := <-srv.done:
					srv.closeModel()
					return err
				}
				fmt.Fprintln(stdout, "lsms serve: stopping")
				return srv.shutdown()
			}
		},
	})
}

type serveOpts struct {
	model, listen, token, tokenFile, tlsCert, tlsKey, backend string
	threads                                                   int
	maxUploadMiB, maxMemoryMiB                                int64
}

// serveInstance is a running console.
type serveInstance struct {
	url       string // base URL, without the token
	addr      net.Addr
	modelName string
	http      *http.Server
	seg       *model.Segmenter
	done      chan error // the serve loop's end
}

func (s *serveInstance) closeModel() {
	if s.seg != nil {
		s.seg.Close()
		s.seg = nil
	}
}

// shutdown stops accepting, waits up to 10 s for requests in flight, then
// closes the model.
func (s *serveInstance) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if e := <-s.done; e != nil && err == nil {
		err = e
	}
	s.closeModel()
	return err
}

// startServe checks the options, opens the model and starts serving.
func startServe(o serveOpts, stderr io.Writer) (*serveInstance, error) {
	if o.model == "" {
		return nil, usagef("--model is required")
	}
	if o.token != "" && o.tokenFile != "" {
		return nil, usagef("--token and --token-file exclude each other")
	}
	if o.tokenFile != "" {
		data, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		o.token = strings.TrimSpace(string(data))
		if o.token == "" {
			return nil, usagef("--token-file %s is empty", o.tokenFile)
		}
	}
	if err := console.CheckListen(o.listen, o.token); err != nil {
		if !console.IsLoopback(o.listen) && o.token == "" {
			return nil, usagef("--listen %s is not a loopback address: give --token or --token-file (at least 16 characters), or listen on 127.0.0.1", o.listen)
		}
		return nil, usagef("%v", strings.TrimPrefix(err.Error(), console.ErrConfig.Error()+": "))
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, usagef("--tls-cert and --tls-key go together")
	}
	if o.maxUploadMiB < 1 || o.maxMemoryMiB < 1 {
		return nil, usagef("--max-upload-mib and --max-memory-mib must be at least 1")
	}
	var tlsCfg *tls.Config
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	seg, err := model.Open(o.model, model.Options{Backend: o.backend, Threads: o.threads})
	if err != nil {
		return nil, fmt.Errorf("--model %s: %w", o.model, err)
	}
	mf := seg.Bundle().Manifest
	log := slog.New(slog.NewTextHandler(stderr, nil))
	h, err := console.New(console.Config{
		Segmenter: seg,
		Model: console.ModelInfo{Name: mf.Name, Precision: mf.Precision, Backend: o.backend,
			Threshold: mf.Threshold, InputSize: mf.InputSize},
		Token:          o.token,
		Secure:         o.tlsCert != "",
		MaxUploadBytes: o.maxUploadMiB << 20,
		MaxStoreBytes:  o.maxMemoryMiB << 20,
		Version:        version,
		Log:            log,
	})
	if err != nil {
		seg.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		seg.Close()
		return nil, fmt.Errorf("--listen: %w", err)
	}
	s := &serveInstance{addr: ln.Addr(), modelName: mf.Name, seg: seg, done: make(chan error, 1),
		http: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	host := s.addr.(*net.TCPAddr)
	hostName := host.IP.String()
	if host.IP.IsUnspecified() {
		hostName = "HOST"
	}
	s.url = fmt.Sprintf("%s://%s/", scheme, net.JoinHostPort(hostName, fmt.Sprint(host.Port)))
	if o.token != "" {
		s.url += "?token=TOKEN"
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	go func() {
		err := s.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

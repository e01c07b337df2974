package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/lsms-edge/lsms/model"
)

//go:embed assets
var assets embed.FS

// Segmenter is what the console runs: *model.Segmenter satisfies it.
type Segmenter interface {
	Segment(s model.Slice, expr string) (*model.Result, error)
}

// ModelInfo describes the served model on the page.
type ModelInfo struct {
	Name      string  `json:"name"`
	Precision string  `json:"precision"`
	Backend   string  `json:"backend"`
	Threshold float64 `json:"threshold"` // the bundle's probability threshold
	InputSize int     `json:"input_size"`
}

// Defaults for the zero values of Config.
const (
	DefaultMaxUploadBytes = 256 << 20
	DefaultMaxStoreBytes  = 512 << 20
	// MaxFilesPerUpload bounds the file parts of one upload.
	MaxFilesPerUpload = 4096
	// MaxSlicesPerSegment bounds the slices of one segment request.
	MaxSlicesPerSegment = 2048
	// MaxExpressionBytes bounds an expression.
	MaxExpressionBytes = 2000
	// MaxLesionsListed bounds the lesions listed per slice (the largest;
	// lesion_count has them all).
	MaxLesionsListed = 50
	// minTokenLen is the shortest token accepted.
	minTokenLen = 16
)

// Config configures a Server.
type Config struct {
	Segmenter Segmenter
	Model     ModelInfo
	// Token, when set, is required on every /api/ request.
	Token string
	// Secure marks the token cookie Secure (the server speaks TLS).
	Secure bool
	// MaxUploadBytes bounds one upload request (default DefaultMaxUploadBytes).
	MaxUploadBytes int64
	// MaxStoreBytes bounds the HU kept in memory; the oldest slices are
	// dropped first (default DefaultMaxStoreBytes).
	MaxStoreBytes int64
	// Version is shown on the page.
	Version string
	Log     *slog.Logger
}

// Server is the console's HTTP handler.
type Server struct {
	cfg     Config
	token   [32]byte // SHA-256 of the token
	store   *store
	handler http.Handler
	log     *slog.Logger
}

// ErrConfig is returned by New and CheckListen for an unusable setup.
var ErrConfig = errors.New("console: bad configuration")

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Segmenter == nil {
		return nil, fmt.Errorf("%w: no segmenter", ErrConfig)
	}
	if cfg.Token != "" {
		if err := CheckToken(cfg.Token); err != nil {
			return nil, err
		}
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.MaxStoreBytes <= 0 {
		cfg.MaxStoreBytes = DefaultMaxStoreBytes
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, store: newStore(cfg.MaxStoreBytes), log: cfg.Log}
	if cfg.Token != "" {
		s.token = sha256.Sum256([]byte(cfg.Token))
	}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.HandleFunc("GET /static/{file}", func(w http.ResponseWriter, r *http.Request) {
		if f := r.PathValue("file"); f == "" || f == "index.html" {
			http.NotFound(w, r) // no directory listing; the page is at /
			return
		}
		files.ServeHTTP(w, r)
	})
	api := http.NewServeMux()
	api.HandleFunc("GET /api/info", s.info)
	api.HandleFunc("POST /api/slices", s.upload)
	api.HandleFunc("GET /api/slices", s.list)
	api.HandleFunc("GET /api/slices/{id}", s.sliceInfo)
	api.HandleFunc("GET /api/slices/{id}/hu", s.sliceHU)
	api.HandleFunc("POST /api/segment", s.segment)
	api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no API endpoint %s %s", r.Method, r.URL.Path)
	})
	mux.Handle("/api/", s.auth(api))
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "cross-origin request refused")
	}))
	s.handler = s.headers(s.hostCheck(cop.Handler(mux)))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// CheckToken checks that a token is usable: at least 16 characters, printable
// ASCII without spaces (it travels in a header and a cookie).
func CheckToken(t string) error {
	if len(t) < minTokenLen {
		return fmt.Errorf("%w: token has %d characters, want at least %d", ErrConfig, len(t), minTokenLen)
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || c >= 0x7f || c == ';' || c == ',' || c == '"' || c == '\\' {
			return fmt.Errorf("%w: token character %d (%q) is not printable ASCII without spaces, quotes, commas, semicolons or backslashes", ErrConfig, i, c)
		}
	}
	return nil
}

// IsLoopback reports whether a listen address (host:port) binds only the
// loopback interface: "localhost" or a loopback IP. An empty host, 0.0.0.0,
// :: and every other name bind more.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckListen refuses a non-loopback listen address without a token.
func CheckListen(addr, token string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%w: listen address %q: %v", ErrConfig, addr, err)
	}
	if token == "" && !IsLoopback(addr) {
		return fmt.Errorf("%w: listen address %s is not loopback: a token is required", ErrConfig, addr)
	}
	if token != "" {
		return CheckToken(token)
	}
	return nil
}

const cookieName = "lsms_token"

// tokenOK compares a presented token with the configured one in constant
// time (both hashed, so the length does not leak either).
func (s *Server) tokenOK(t string) bool {
	h := sha256.Sum256([]byte(t))
	return subtle.ConstantTimeCompare(h[:], s.token[:]) == 1
}

func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, ok := strings.Cut(h, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && s.tokenOK(strings.TrimSpace(t))
	}
	if c, err := r.Cookie(cookieName); err == nil {
		return s.tokenOK(c.Value)
	}
	return false
}

func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lsms"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong token: open the console as /?token=TOKEN or send Authorization: Bearer TOKEN")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostCheck: without a token, only loopback Host headers are answered
// (DNS rebinding protection).
func (s *Server) hostCheck(next http.Handler) http.Handler {
	if s.cfg.Token != "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		ip := net.ParseIP(host)
		if !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
			writeError(w, http.StatusForbidden, "host %q is not loopback: this console runs without a token and answers only on localhost", r.Host)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// csp allows nothing but this server: the page works offline.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	if t := r.URL.Query().Get("token"); t != "" && s.cfg.Token != "" {
		if !s.tokenOK(t) {
			http.Error(w, "wrong token", http.StatusUnauthorized)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: t, Path: "/", HttpOnly: true,
			Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	data, err := assets.ReadFile("assets/index.html")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "page: %v", err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(data)
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"model":                s.cfg.Model,
		"version":              s.cfg.Version,
		"token_required":       s.cfg.Token != "",
		"max_upload_bytes":     s.cfg.MaxUploadBytes,
		"max_store_bytes":      s.cfg.MaxStoreBytes,
		"max_expression_bytes": MaxExpressionBytes,
	})
}

// apiError is the body of every error response.
type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, apiError{fmt.Sprintf(format, args...)})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		code, data = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(data, '\n'))
}

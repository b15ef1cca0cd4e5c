package configs

import (
	"time"
)

// Token scopes (SPEC 5): read looks, redeem also reserves and commits
// points at a checkout, admin does everything.
const (
	ScopeRead   = "read"
	ScopeRedeem = "redeem"
	ScopeAdmin  = "admin"
)

// Languages of the admin web UI.
const (
	LanguageItalian = "it"
	LanguageEnglish = "en"
)

// Notification event types.
const (
	EventPointsEarned   = "points_earned"
	EventPrizeThreshold = "prize_threshold"
	EventPointsExpiring = "points_expiring"
)

// Server is the daemon's web server: the JSON API under /api/v1, the admin
// web UI, /healthz, /readyz and /metrics. An empty Listen runs no server.
type Server struct {
	// Listen is host:port, e.g. 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// TLS serves HTTPS when both files are set.
	TLS TLS `yaml:"tls,omitempty"`
	// Tokens are the bearer tokens callers present, each with its scopes.
	Tokens []Token `yaml:"tokens"`
	// MaxBody bounds a JSON request body, MaxUpload an import upload (bytes).
	MaxBody   int64 `yaml:"max_body"`
	MaxUpload int64 `yaml:"max_upload"`
	// ReservationTTL is how long a checkout's reservation holds points
	// before it expires unless committed.
	ReservationTTL time.Duration `yaml:"reservation_ttl"`
	// UI is the admin web UI.
	UI UI `yaml:"ui"`
	// ReadTimeout and WriteTimeout bound one request; ShutdownTimeout is
	// how long requests in flight may finish at stop.
	ReadTimeout     time.Duration `yaml:"read_timeout"`
	WriteTimeout    time.Duration `yaml:"write_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// TLS names the certificate and key files (PEM).
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Token is one bearer token: its SHA-256 written in the file (hex, as
// `pointsync token` prints it), or the token itself read from a secret
// file (hashed in memory). A token written in clear in the file is refused.
type Token struct {
	Name      string   `yaml:"name"`
	Scopes    []string `yaml:"scopes"`
	SHA256    string   `yaml:"sha256,omitempty"`
	Token     Secret   `yaml:"token,omitempty"`
	TokenFile string   `yaml:"token_file,omitempty"`
}

// UI is the admin web UI (it logs in with an admin token).
type UI struct {
	Disabled bool `yaml:"disabled"`
	// Language is the default language, it or en; each user can switch.
	Language string `yaml:"language"`
	// SessionTTL is how long a login lasts without activity.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// SecureCookie forces the Secure flag on the session cookie even
	// without TLS here (TLS ended by a proxy in front).
	SecureCookie bool `yaml:"secure_cookie"`
}

// Notifications are events delivered by webhook through the outbox.
type Notifications struct {
	// Events enabled; empty means none (no outbox rows are written).
	Events []string `yaml:"events"`
	// ExpiringDays: points expiring within this many days are announced
	// once per customer and expiry date.
	ExpiringDays int `yaml:"expiring_days"`
	// Schedule is when the expiring-points scan runs.
	Schedule string  `yaml:"schedule"`
	Webhook  Webhook `yaml:"webhook"`
}

// Enabled reports whether any event is on.
func (n Notifications) Enabled() bool { return len(n.Events) > 0 }

// Has reports whether event type ev is enabled.
func (n Notifications) Has(ev string) bool {
	for _, e := range n.Events {
		if e == ev {
			return true
		}
	}
	return false
}

// Webhook is where events are POSTed, signed with HMAC-SHA256 of Secret.
type Webhook struct {
	URL        string        `yaml:"url"`
	Secret     Secret        `yaml:"secret,omitempty"`
	SecretFile string        `yaml:"secret_file,omitempty"`
	Timeout    time.Duration `yaml:"timeout"`
	// Backoff is the first retry's wait, doubled each time up to
	// MaxBackoff; delivery is retried until it succeeds (at least once).
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Poll is how often the outbox is looked at when idle.
	Poll time.Duration `yaml:"poll"`
}

func defaultServer() Server {
	return Server{
		MaxBody:         1 << 20,
		MaxUpload:       32 << 20,
		ReservationTTL:  15 * time.Minute,
		ReadTimeout:     30 * time.Second,
		WriteTimeout:    5 * time.Minute,
		ShutdownTimeout: 10 * time.Second,
		UI:              UI{Language: LanguageItalian, SessionTTL: 8 * time.Hour},
	}
}

func defaultNotifications() Notifications {
	return Notifications{
		ExpiringDays: 30,
		Schedule:     "@daily",
		Webhook: Webhook{
			Timeout:    10 * time.Second,
			Backoff:    5 * time.Second,
			MaxBackoff: time.Hour,
			Poll:       2 * time.Second,
		},
	}
}

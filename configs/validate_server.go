package configs

import (
	"encoding/hex"
	"net"
	"net/url"
	"time"
)

// minTokenLength bounds a token read from a file: a short one could be
// guessed.
const minTokenLength = 24

func (v *validator) server() {
	s := v.c.Server
	if s.Listen != "" {
		if _, port, err := net.SplitHostPort(s.Listen); err != nil || port == "" {
			v.add("server.listen", "%q is not host:port, e.g. 127.0.0.1:8080 (or :8080 for every interface)", s.Listen)
		}
		if len(s.Tokens) == 0 {
			v.add("server.tokens", "the server needs at least one token (every route but /healthz asks for one); make one with `pointsync token`")
		}
	}
	if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
		v.add("server.tls", "set both cert_file and key_file (PEM files), or neither")
	}
	names := map[string]bool{}
	for i, t := range s.Tokens {
		base := joinIndex("server.tokens", i)
		switch {
		case t.Name == "":
			v.add(base+".name", "each token needs a name (it is logged instead of the token), e.g. shop")
		case names[t.Name]:
			v.add(base+".name", "token name %q is used twice", t.Name)
		}
		names[t.Name] = true
		if len(t.Scopes) == 0 {
			v.add(base+".scopes", "list the token's scopes: read, redeem or admin")
		}
		for j, sc := range t.Scopes {
			v.oneOf(joinIndex(base+".scopes", j), sc, ScopeRead, ScopeRedeem, ScopeAdmin)
		}
		switch {
		case t.Token != "" && t.TokenFile == "":
			v.add(base+".token", "a token written in clear in the configuration is refused: write its sha256 (`pointsync token` prints both) or token_file (a file holding it)")
		case t.SHA256 != "" && t.TokenFile != "":
			v.add(base+".sha256", "set sha256 or token_file, not both")
		case t.SHA256 == "" && t.TokenFile == "":
			v.add(base+".sha256", "the token's SHA-256 (64 hex digits, as `pointsync token` prints it) or token_file is needed")
		case t.SHA256 != "":
			if b, err := hex.DecodeString(t.SHA256); err != nil || len(b) != 32 {
				v.add(base+".sha256", "must be 64 hexadecimal digits (the SHA-256 of the token, as `pointsync token` prints it)")
			}
		case t.TokenFile != "" && t.Token != "" && len(t.Token) < minTokenLength:
			v.add(base+".token_file", "the token in %s is shorter than %d characters; make a strong one with `pointsync token`", t.TokenFile, minTokenLength)
		}
	}
	if s.MaxBody < 1<<10 || s.MaxBody > 1<<30 {
		v.add("server.max_body", "must be between 1024 and 1073741824 bytes, e.g. 1048576")
	}
	if s.MaxUpload < 1<<10 || s.MaxUpload > 8<<30 {
		v.add("server.max_upload", "must be between 1024 and 8589934592 bytes, e.g. 33554432")
	}
	if s.ReservationTTL < 10*time.Second || s.ReservationTTL > 7*24*time.Hour {
		v.add("server.reservation_ttl", "must be between 10s and 168h, e.g. 15m (a checkout's reservation expires after it unless committed)")
	}
	for key, d := range map[string]time.Duration{
		"server.read_timeout": s.ReadTimeout, "server.write_timeout": s.WriteTimeout,
		"server.shutdown_timeout": s.ShutdownTimeout, "server.ui.session_ttl": s.UI.SessionTTL,
	} {
		if d <= 0 {
			v.add(key, "must be greater than 0, e.g. 30s")
		}
	}
	v.oneOf("server.ui.language", s.UI.Language, LanguageItalian, LanguageEnglish)
}

func (v *validator) notifications() {
	n := v.c.Notifications
	seen := map[string]bool{}
	for i, ev := range n.Events {
		key := joinIndex("notifications.events", i)
		if v.oneOf(key, ev, EventPointsEarned, EventPrizeThreshold, EventPointsExpiring) && seen[ev] {
			v.add(key, "event %q is listed twice", ev)
		}
		seen[ev] = true
	}
	if n.ExpiringDays < 1 || n.ExpiringDays > 366 {
		v.add("notifications.expiring_days", "must be between 1 and 366, e.g. 30")
	}
	if _, err := ParseSchedule(n.Schedule); err != nil {
		v.add("notifications.schedule", "%v; write a cron expression such as \"0 8 * * *\" or @daily", err)
	}
	w := n.Webhook
	if n.Enabled() {
		u, err := url.Parse(w.URL)
		switch {
		case w.URL == "":
			v.add("notifications.webhook.url", "events are delivered by webhook: its address is needed, e.g. https://shop.example.com/pointsync/events")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			v.add("notifications.webhook.url", "%q is not an http:// or https:// address", w.URL)
		case u.User != nil:
			v.add("notifications.webhook.url", "credentials in the address would be logged; the body is signed with secret instead")
		}
		if w.Secret == "" && w.SecretFile == "" {
			v.add("notifications.webhook.secret", "the HMAC-SHA256 signing secret is needed: secret_file (a file holding it) or secret")
		}
	}
	for key, d := range map[string]time.Duration{
		"notifications.webhook.timeout": w.Timeout, "notifications.webhook.backoff": w.Backoff,
		"notifications.webhook.poll": w.Poll,
	} {
		if d <= 0 {
			v.add(key, "must be greater than 0, e.g. 5s")
		}
	}
	if w.MaxBackoff < w.Backoff {
		v.add("notifications.webhook.max_backoff", "must be at least backoff (%s)", w.Backoff)
	}
}

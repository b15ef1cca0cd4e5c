package server

// apiRoutes registers the JSON API under /api/v1. Each group lives in its
// own file (api_*.go).
func (s *Server) apiRoutes() {
	s.checkoutRoutes()
	s.adminRoutes()
	s.api("GET", "/api/v1/openapi.json", ScopeRead, s.openAPI)
}

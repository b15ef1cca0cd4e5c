package server

func (s *Server) uiRoutes() error { return nil }

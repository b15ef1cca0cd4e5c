package server

func (s *Server) checkoutRoutes() {}

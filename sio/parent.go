package sio

import (
	"encoding/json"
	"errors"
	"sync"
)

// ParentNamespace declares dynamic namespaces (Server.OfFunc,
// Server.OfRegexp). Its middleware and connection handlers apply to every
// child namespace created after they were added; Emit broadcasts to all
// its children.
type ParentNamespace struct {
	srv          *Server
	allow        func(string, json.RawMessage) bool
	mu           sync.RWMutex
	middlewares  []Middleware
	onConnection []func(*Socket)
	children     map[*Namespace]struct{}
}

func newParentNamespace(srv *Server, allow func(string, json.RawMessage) bool) *ParentNamespace {
	return &ParentNamespace{srv: srv, allow: allow, children: make(map[*Namespace]struct{})}
}

// Use adds a middleware for the children.
func (p *ParentNamespace) Use(fn Middleware) *ParentNamespace {
	p.mu.Lock()
	p.middlewares = append(p.middlewares, fn)
	p.mu.Unlock()
	return p
}

// OnConnection adds a connection handler for the children.
func (p *ParentNamespace) OnConnection(fn func(*Socket)) *ParentNamespace {
	p.mu.Lock()
	p.onConnection = append(p.onConnection, fn)
	p.mu.Unlock()
	return p
}

// Children returns the child namespaces created so far.
func (p *ParentNamespace) Children() []*Namespace {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]*Namespace, 0, len(p.children))
	for n := range p.children {
		out = append(out, n)
	}
	return out
}

// Emit broadcasts to every socket of every child namespace.
func (p *ParentNamespace) Emit(event string, args ...any) error {
	var errs []error
	for _, n := range p.Children() {
		if err := n.Emit(event, args...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *ParentNamespace) addChild(n *Namespace) {
	p.mu.Lock()
	p.children[n] = struct{}{}
	p.mu.Unlock()
}

func (p *ParentNamespace) removeChild(n *Namespace) {
	p.mu.Lock()
	delete(p.children, n)
	p.mu.Unlock()
}

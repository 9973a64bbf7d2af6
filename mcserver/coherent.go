package mcserver

import (
	"context"
	"time"

	"github.com/discoh/discoh/coherence/guard"
	"github.com/discoh/discoh/mcproto"
	"github.com/discoh/discoh/proxy"
)

// On memcached a coherent key's item carries the directory's guard state in a header that
// clients never see, so every request that touches a coherent key goes through the directory:
// get and gets read, set/add/replace fill, delete invalidates; the rest are refused.

// routeCoherent answers req through the directory when it touches a coherent key, and reports
// whether it did.
func (s *Session) routeCoherent(req *mcproto.Request) bool {
	dir := s.m.Dir
	if dir == nil || !anyKeyCovered(s, req.Keys) {
		return false
	}
	// Fills and deletes do not take the client's context: one discoh has read is carried out
	// even if the client hangs up, as memcached does (see proxy.WaitContext).
	switch k := req.Kind; {
	case k == mcproto.Get || k == mcproto.Gets:
		s.queueLit(s.coherentGet(req))
	case k == mcproto.Set || k == mcproto.Add || k == mcproto.Replace:
		s.m.Stats.CmdSet.Add(1)
		_, err := dir.Fill(context.Background(), req.Keys[0], guard.Value{Data: req.Data, Flags: req.Flags, TTL: ttlOf(req.Exptime)})
		s.queueResult(err, "STORED", req.Noreply)
	case k == mcproto.Delete:
		err := dir.Invalidate(context.Background(), req.Keys[0])
		s.queueResult(err, "DELETED", req.Noreply)
	case k == mcproto.Discoh:
		s.discoh(req)
	default:
		msg := "CLIENT_ERROR discoh: " + k.String() + " is not supported on coherent keys\r\n"
		s.queueLit(func(dst []byte) []byte { return append(dst, msg...) })
	}
	return true
}

func anyKeyCovered(s *Session, keys [][]byte) bool {
	for _, k := range keys {
		if s.m.Dir.Covers(k) {
			return true
		}
	}
	return false
}

// ttlOf turns a memcached exptime into a TTL: up to 30 days it is relative, above it a Unix
// time, negative means already expired.
func ttlOf(exptime int64) time.Duration {
	switch {
	case exptime == 0:
		return 0
	case exptime < 0:
		return time.Nanosecond
	case exptime <= 30*24*3600:
		return time.Duration(exptime) * time.Second
	}
	return max(time.Until(time.Unix(exptime, 0)), time.Nanosecond)
}

func (s *Session) queueResult(err error, ok string, noreply bool) {
	switch {
	case err != nil:
		msg := "SERVER_ERROR " + string(oneLine(err.Error())) + "\r\n"
		s.queueLit(func(dst []byte) []byte { return append(dst, msg...) })
	case !noreply:
		s.queueLit(func(dst []byte) []byte { return append(append(dst, ok...), "\r\n"...) })
	}
}

// coherentGet reads every key of a get: coherent ones through the directory, the others from
// their servers, in the client's order.
func (s *Session) coherentGet(req *mcproto.Request) func([]byte) []byte {
	var out []byte
	withCas := req.Kind == mcproto.Gets
	ctx := proxy.NewWaitContext(s.client)
	defer ctx.End()
	for _, key := range req.Keys {
		s.m.Stats.CmdGet.Add(1)
		block, err := s.getOne(ctx, key, withCas)
		if err != nil {
			msg := "SERVER_ERROR " + string(oneLine(err.Error())) + "\r\n"
			return func(dst []byte) []byte { return append(dst, msg...) }
		}
		if block != nil {
			s.m.Stats.GetHits.Add(1)
		} else {
			s.m.Stats.GetMisses.Add(1)
		}
		out = append(out, block...)
	}
	out = mcproto.AppendEnd(out)
	return func(dst []byte) []byte { return append(dst, out...) }
}

// getOne returns key's VALUE block, or nil on a miss. ctx bounds a wait for a pull in flight.
func (s *Session) getOne(ctx context.Context, key []byte, withCas bool) ([]byte, error) {
	if s.m.Dir.Covers(key) {
		val, hit, err := s.m.Dir.Read(ctx, key)
		if err != nil || !hit {
			return nil, err
		}
		return mcproto.AppendValue(nil, key, val.Flags, val.Data, 0, withCas), nil
	}
	kind := mcproto.Get
	if withCas {
		kind = mcproto.Gets
	}
	var buf [8]int
	targets := append(s.m.pool.ReadTargets(key, buf[:0]), s.m.pool.Owner(key))
	server := memcacheDoer{server: s.m.pool.Servers[targets[0]]}
	reply, err := server.Do(context.Background(), key, mcproto.AppendGetLine(nil, kind, 0, key), kind)
	if err != nil {
		return nil, err
	}
	v, _, ok, err := mcproto.NextValue(reply)
	if err != nil || !ok {
		return nil, err
	}
	return v.Raw, nil
}

// discoh answers discoh's own command, the memcached spelling of Redis's DISCOH: discoh read
// <key> reads through the directory as get does (waiting for a pull in flight), discoh pull
// <key> invalidates key and pulls it from the database now. Both answer as get: a VALUE block
// and END, or END alone when there is no value (no row).
func (s *Session) discoh(req *mcproto.Request) {
	key, sub := req.Keys[0], string(req.Args[0])
	switch {
	case s.m.Dir == nil || !s.m.Dir.Covers(key):
		s.queueLit(clientError("discoh: key '" + string(key) + "' is not covered by a coherence source"))
	case sub == "read":
		ctx := proxy.NewWaitContext(s.client)
		block, err := s.getOne(ctx, key, false)
		ctx.End()
		s.queueLit(valueOrEnd(block, err))
	case sub == "pull":
		ctx := proxy.NewWaitContext(s.client)
		val, found, err := s.m.Dir.Pull(ctx, key)
		ctx.End()
		var block []byte
		if found {
			block = mcproto.AppendValue(nil, key, val.Flags, val.Data, 0, false)
		}
		s.queueLit(valueOrEnd(block, err))
	default:
		s.queueLit(clientError("discoh subcommands: read <key>, pull <key>"))
	}
}

// valueOrEnd answers as a get of one key: block (nil on a miss) and END, or the error.
func valueOrEnd(block []byte, err error) func([]byte) []byte {
	return func(dst []byte) []byte {
		if err != nil {
			return append(append(dst, oneLine("SERVER_ERROR "+err.Error())...), "\r\n"...)
		}
		return mcproto.AppendEnd(append(dst, block...))
	}
}

func clientError(msg string) func([]byte) []byte {
	return func(dst []byte) []byte { return append(append(dst, oneLine("CLIENT_ERROR "+msg)...), "\r\n"...) }
}

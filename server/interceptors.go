package server

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// logUnary logs one line per RPC: method, code, duration. Errors a client
// caused are logged at info, the rest at warn, so the log shows what needs
// an operator.
func logUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		code := status.Code(err)
		level := slog.LevelDebug
		switch code {
		case codes.OK:
		case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.FailedPrecondition, codes.Canceled,
			codes.Unauthenticated, codes.PermissionDenied, codes.DeadlineExceeded:
			level = slog.LevelInfo
		default:
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "rpc", "method", info.FullMethod, "code", code.String(), "ms", time.Since(start).Milliseconds(), "err", errString(err))
		return resp, err
	}
}

// recoverUnary turns a panic in a handler into INTERNAL instead of a dead
// daemon, logging the stack-worthy details.
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in handler", "method", info.FullMethod, "panic", r)
				err = status.Errorf(codes.Internal, "internal error in %s", info.FullMethod)
			}
		}()
		return handler(ctx, req)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return status.Convert(err).Message()
}

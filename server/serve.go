package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/gen/openapi"
)

// Listeners are where canopyd serves.
type Listeners struct {
	GRPC net.Listener
	REST net.Listener
	// TLS, when set, serves both with this certificate.
	TLS *tls.Config
}

// Serve runs the gRPC server and the REST gateway until ctx ends, then shuts
// both down gracefully: new calls are refused, in-flight calls finish (up to
// grace), and only then does Serve return.
func (s *Server) Serve(ctx context.Context, lis Listeners, grace time.Duration) error {
	fctx, stopFollow := context.WithCancel(ctx)
	followers := s.follow(fctx) // replicas.go
	s.held = s.holdClouds(fctx)
	s.shareStatus(fctx) // replicas.go
	defer func() { stopFollow(); followers.Wait(); s.held.Wait() }()
	opts := []grpc.ServerOption{}
	if lis.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(lis.TLS)))
	}
	gs := grpc.NewServer(append(opts,
		// Fixed flow-control windows: a client-streamed upload buffers at
		// most 2 MiB here (BDP estimation would let each connection grow
		// to 16 MiB), which is enough for loopback and LAN rates.
		grpc.InitialWindowSize(2<<20), grpc.InitialConnWindowSize(4<<20),
		// Big transport writes (a syscall per 512 KiB rather than per
		// 32 KiB) for streamed downloads; the buffer is only held while a
		// connection has something to write.
		grpc.WriteBufferSize(512<<10), grpc.SharedWriteBuffer(true),
		grpc.ForceServerCodecV2(newRawCodec(s.chunks)),
		grpc.ChainUnaryInterceptor(recoverUnary(s.log), s.metrics.unary(), logUnary(s.log), s.authUnary()),
		grpc.ChainStreamInterceptor(s.metrics.stream(), s.authStream()),
	)...)
	containers := &containerService{containerViews: containerViews{rt: s.rt, store: s.store, log: s.log}}
	nets := &networkService{netViews: netViews{rt: s.rt, store: s.store, log: s.log, servers: serverViews{rt: s.rt}}, metrics: s.metrics,
		owned: func(cloud string) bool { _, ok := s.held.Owns(cloud); return ok }}
	repl := s.repl                            // image_replicate.go
	rend, rendErr := newRenderer(s.cfg, s.rt) // image_render.go
	rj := &renderJobs{renderer: rend, http: &http.Client{}, ready: make(chan struct{})}
	vols, opsvc, err := s.startVolumes(ctx, func(o *ops) { // storage.go: resumes unfinished operations
		repl.register(o)
		containers.ops = o
		containers.registerJobs(o.runner)
		nets.ops = o
		nets.registerJobs(o.runner)
		nets.registerRealizeJobs(o.runner)
		rend.ops = o
		rj.register(o.runner) // its steps wait for rj.ready
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil // asked to stop while starting: nothing served, nothing lost
		}
		return err
	}
	defer vols.ops.stop()
	rctx, stopReconcile := context.WithCancel(ctx)
	reconciled := make(chan struct{})
	go func() {
		defer close(reconciled)
		nets.reconcile(rctx, s.cfg.Networks.ReconcileInterval.Std()) // network_reconcile.go
	}()
	defer func() { stopReconcile(); <-reconciled }() // before the operations stop
	canopyv1.RegisterCloudServiceServer(gs, &cloudService{rt: s.rt})
	compute := &computeService{serverViews: serverViews{rt: s.rt}, rt: s.rt, store: s.store, cfg: s.cfg, metrics: s.metrics, boot: vols, net: nets, places: repl.places, repl: repl}
	objects := &objectService{rt: s.rt, store: s.store, log: s.log, urls: s.urls, chunks: s.chunks}
	images := &imageService{rt: s.rt, store: s.store, log: s.log, images: compute, ops: vols.ops, render: rend, renderErr: rendErr, repl: repl}
	rj.place, rj.objects, rj.images = images, objects, compute
	containers.images = compute
	close(rj.ready)
	canopyv1.RegisterComputeServiceServer(gs, compute)
	canopyv1.RegisterAuthServiceServer(gs, &authService{issuer: s.issuer, clients: s.clients})
	canopyv1.RegisterObjectServiceServer(gs, objects)
	canopyv1.RegisterImageTransferServiceServer(gs, images)
	canopyv1.RegisterVolumeServiceServer(gs, vols)
	canopyv1.RegisterOperationServiceServer(gs, opsvc)
	canopyv1.RegisterContainerServiceServer(gs, containers)
	canopyv1.RegisterNetworkServiceServer(gs, nets)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	for _, name := range []string{"", canopyv1.CloudService_ServiceDesc.ServiceName, canopyv1.ComputeService_ServiceDesc.ServiceName, canopyv1.AuthService_ServiceDesc.ServiceName,
		canopyv1.ObjectService_ServiceDesc.ServiceName, canopyv1.ImageTransferService_ServiceDesc.ServiceName,
		canopyv1.VolumeService_ServiceDesc.ServiceName, canopyv1.OperationService_ServiceDesc.ServiceName, canopyv1.ContainerService_ServiceDesc.ServiceName,
		canopyv1.NetworkService_ServiceDesc.ServiceName} {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	reflection.Register(gs)

	routes := newRESTRoutes() // rest_routes.go: which methods a path has (405's Allow)
	gwMux, conn, err := s.gateway(ctx, lis.GRPC.Addr().String(), lis.TLS != nil, routes)
	if err != nil {
		return err
	}
	defer conn.Close()
	mux := http.NewServeMux()
	routes.mux = mux
	mux.Handle("/v1/", gwMux)
	rest := &restTransfer{objects: objects, images: images, rt: s.rt, urls: s.urls, log: s.log, authn: s.authenticate}
	rest.registerTransfer(mux, gwMux, lis.REST.Addr(), lis.TLS != nil)
	if u := strings.TrimSuffix(s.cfg.PublicURL, "/"); u != "" {
		s.urls.set(u) // config.Validate checked it
	}
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Spec)
	})
	(&auth.Server{Issuer: s.issuer, Clients: s.clients, Sources: s.sources, Log: s.log}).Register(mux)
	mux.Handle("GET /metrics", s.metricsHandler()) // metrics_http.go
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	hsrv := &http.Server{Handler: limitBodies(s.maxBodyBytes(), mux), ReadHeaderTimeout: 10 * time.Second} // rest_body.go

	errc := make(chan error, 2)
	go func() { errc <- gs.Serve(lis.GRPC) }()
	go func() {
		rest := lis.REST
		if lis.TLS != nil {
			rest = tls.NewListener(rest, lis.TLS)
		}
		if err := hsrv.Serve(rest); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
			return
		}
		errc <- nil
	}()
	s.log.Info("canopyd serving", "grpc", lis.GRPC.Addr().String(), "rest", lis.REST.Addr().String(), "clouds", s.rt.Names())

	select {
	case <-ctx.Done():
	case err := <-errc:
		gs.Stop()
		_ = hsrv.Close()
		return err
	}
	s.log.Info("canopyd shutting down: letting in-flight calls finish", "grace", grace)
	hs.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_ = hsrv.Shutdown(sctx) // REST first: it forwards to gRPC
	done := make(chan struct{})
	go func() { gs.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		s.log.Warn("grace period over: cancelling remaining calls")
		gs.Stop()
	}
	return nil
}

// gateway builds the grpc-gateway mux, which calls canopyd's own gRPC port
// so REST goes through exactly the same interceptors (auth included) as
// gRPC. With TLS it dials its own listener; the certificate is not checked
// on that in-process hop, whose address canopyd itself chose.
func (s *Server) gateway(ctx context.Context, grpcAddr string, useTLS bool, routes *restRoutes) (*runtime.ServeMux, *grpc.ClientConn, error) {
	mux := runtime.NewServeMux(routes.gatewayOptions()...) // rest_routes.go
	creds := insecure.NewCredentials()
	if useTLS {
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // self-dial, see above
	}
	if host, port, err := net.SplitHostPort(grpcAddr); err == nil && (host == "0.0.0.0" || host == "::") {
		grpcAddr = net.JoinHostPort("127.0.0.1", port)
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: dial %s: %w", grpcAddr, err)
	}
	for _, reg := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		canopyv1.RegisterCloudServiceHandler, canopyv1.RegisterComputeServiceHandler, canopyv1.RegisterAuthServiceHandler,
		canopyv1.RegisterObjectServiceHandler, canopyv1.RegisterImageTransferServiceHandler,
		canopyv1.RegisterVolumeServiceHandler, canopyv1.RegisterOperationServiceHandler, canopyv1.RegisterContainerServiceHandler, canopyv1.RegisterNetworkServiceHandler,
	} {
		if err := reg(ctx, mux, conn); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("gateway: %w", err)
		}
		if err := routes.register(ctx, reg, conn); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("gateway: 405 probe: %w", err)
		}
	}
	return mux, conn, nil
}

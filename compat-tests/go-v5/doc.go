// Package grpccompat proves the 5.x gRPC endpoint (apache.rocketmq.v2.MessagingService) with the official Go
// client github.com/apache/rocketmq-clients/golang/v5 v5.1.2, plus rocketmq-client-go v2 (remoting) for the
// cross-protocol cases. Topics are created with their message.type attribute through the name server.
//
//	RMQ_GRPC_ENDPOINT=127.0.0.1:8081 NAMESRV_ADDR=127.0.0.1:9876 go test -count=1 -v ./...
//
// Without RMQ_GRPC_ENDPOINT / NAMESRV_ADDR every test is skipped. The client dials TLS unconditionally
// (conn_options.go: InsecureSkipVerify, no plaintext option), so the endpoint must accept TLS as Java's proxy
// does (ProxyAndTlsProtocolNegotiator: TLS and plaintext on one port). scripts/grpc-test.sh starts a broker
// and runs this suite and the Java one.
package grpccompat

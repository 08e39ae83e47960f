// Package compat drives the official RocketMQ Go client (rocketmq-client-go v2)
// against a running name server + broker. The tests live in *_test.go files;
// this file only exists so the package has a non-test source file.
//
// Environment:
//
//	NAMESRV_ADDR     name server address, e.g. 127.0.0.1:9876 (tests skip when unset)
//	RMQ_RESTART_CMD  shell command that restarts the broker on the same store
//	                 and returns once it accepts requests (restart test skips when unset)
package compat

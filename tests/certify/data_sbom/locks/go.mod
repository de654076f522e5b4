module example.com/xapp

go 1.21

require github.com/gorilla/websocket v1.5.0

require (
	golang.org/x/net v0.16.0 // indirect
	gerrit.o-ran-sc.org/r/ric-plt/xapp-frame v0.9.3
	example.com/local v1.0.0
)

replace example.com/local => ../local

replace golang.org/x/net v0.16.0 => golang.org/x/net v0.17.0

//! Lua scripting (built with `--features scripting`): differential tests
//! against a real redis-server, byte for byte, for the conversion tables,
//! errors, the sandbox, the `redis` API, SCRIPT and FUNCTION; then
//! multi-client tests for atomicity, BUSY, SCRIPT KILL and UNKILLABLE,
//! MULTI/EXEC, WATCH, keyspace events, MONITOR and the AOF.

#![cfg(feature = "scripting")]

mod common;

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{cmd, process, start, RealRedis};
use respd::resp::{read_frame, Frame};

/// A connection that sends commands and reads whole replies.
struct Conn(BufReader<TcpStream>);

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let stream = common::raw(addr);
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Conn(BufReader::new(stream))
    }

    fn send(&mut self, args: &[&str]) {
        self.0
            .get_mut()
            .write_all(&Frame::command(args).to_bytes())
            .unwrap();
    }

    fn read(&mut self) -> Vec<u8> {
        read_frame(&mut self.0).unwrap().unwrap().to_bytes()
    }

    /// Sends a command and returns its reply's exact bytes.
    fn call(&mut self, args: &[&str]) -> Vec<u8> {
        self.send(args);
        self.read()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The reply's lines, sorted: equal for replies that differ only in order.
fn sorted_lines(reply: &[u8]) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = reply.split(|&b| b == b'\n').collect();
    lines.sort();
    lines.concat()
}

/// Runs `cases` on a fresh respd and a real Redis and compares every
/// reply byte for byte (HELLO's, which names the server, excepted).
/// Returns how many replies were compared.
fn differential(cases: &[&[&str]]) -> usize {
    let Some(real) = RealRedis::start() else {
        return 0;
    };
    let server = start();
    let mut ours = Conn::open(server.local_addr());
    let mut theirs = Conn::open(real.addr);
    let mut differences = Vec::new();
    for case in cases {
        let (mut mine, mut reference) = (ours.call(case), theirs.call(case));
        // Redis lists a library's functions in its hash table's order.
        if case.starts_with(&["function", "list"]) {
            (mine, reference) = (sorted_lines(&mine), sorted_lines(&reference));
        }
        if case[0] != "hello" && mine != reference {
            differences.push(format!(
                "{case:?}\n  redis: {}\n  respd: {}",
                text(&reference),
                text(&mine)
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} replies differ:\n{}",
        differences.len(),
        cases.len(),
        differences.join("\n")
    );
    cases.len()
}

#[test]
fn errors_conversions_api_and_script_commands_match_redis() {
    let compared = differential(BASICS);
    println!("{compared} replies compared with redis-server");
}

#[test]
fn resp3_clients_get_redis_shapes() {
    let compared = differential(RESP3);
    println!("{compared} replies compared with redis-server");
}

#[test]
fn shebangs_and_commands_from_scripts_match_redis() {
    let compared = differential(FROM_SCRIPTS);
    println!("{compared} replies compared with redis-server");
}

#[test]
fn pcall_error_places_functions_and_shebangs_match_redis() {
    let compared = differential(MORE);
    println!("{compared} replies compared with redis-server");
}

/// Errors, conversions (RESP2 and RESP3), the redis API, SCRIPT.
const BASICS: &[&[&str]] = &[
    &["eval", "error('boom')", "0"],
    &["eval", "error({err='MY boom'})", "0"],
    &["eval", "error({err='boom'})", "0"],
    &["eval", "error()", "0"],
    &["eval", "error(nil)", "0"],
    &["eval", "error(12)", "0"],
    &["eval", "return redis.call('nosuch')", "0"],
    &["eval", "return redis.call('get')", "0"],
    &["eval", "return redis.call('incr','x')", "1", "x"],
    &["set", "s", "abc"],
    &["eval", "return redis.call('incr',KEYS[1])", "1", "s"],
    &["eval", "return redis.pcall('incr',KEYS[1])", "1", "s"],
    &["eval", "local r = redis.pcall('incr',KEYS[1]); return r['err']", "1", "s"],
    &["eval", "return redis.call('lpush',KEYS[1],'a')", "1", "s"],
    &["eval", "return redis.error_reply('my error')", "0"],
    &["eval", "return redis.error_reply('-my error')", "0"],
    &["eval", "return redis.status_reply('fine')", "0"],
    &["eval", "return {err='x'}", "0"],
    &["eval", "return {ok='x'}", "0"],
    &["eval", "return redis.call()", "0"],
    &["eval", "return redis.call(1)", "0"],
    &["eval", "return redis.call('get',{})", "0"],
    &["eval", "return redis.call('get',nil)", "0"],
    &["eval", "return redis.call('get',1.5)", "0"],
    &["eval", "return redis.call('set','f',1.5)", "0"],
    &["eval", "return redis.call('eval','return 1','0')", "0"],
    &["eval", "return redis.call('multi')", "0"],
    &["eval", "return redis.call('blpop','x',0)", "0"],
    &["eval", "return redis.call('subscribe','x')", "0"],
    &["eval_ro", "return redis.call('set','x',1)", "0"],
    &["eval", "syntax error here", "0"],
    &["eval", "return", "-1"],
    &["eval", "return", "x"],
    &["eval", "return", "5"],
    &["evalsha", "abc", "0"],
    &["evalsha", "ffffffffffffffffffffffffffffffffffffffff", "0"],
    &["eval", "return redis.pcall('nosuch')", "0"],
    &["eval", "return redis.pcall('get')", "0"],
    &["eval", "local t = redis.pcall('nosuch'); return t.err", "0"],
    &["eval", "error(redis.pcall('incr', KEYS[1]))", "1", "s"],
    &["eval", "return {1,2,3,'x',nil,4}", "0"],
    &["eval", "return {1.9, -2.9, true, false, {1,{2}}}", "0"],
    &["eval", "return 3.99", "0"],
    &["eval", "return true", "0"],
    &["eval", "return false", "0"],
    &["eval", "return nil", "0"],
    &["eval", "return {a=1}", "0"],
    &["eval", "return {err=1}", "0"],
    &["eval", "return {ok=1}", "0"],
    &["eval", "return redis.call('ping')", "0"],
    &["eval", "return redis.call('get','nokey')", "0"],
    &["eval", "return type(redis.call('get','nokey'))", "0"],
    &["eval", "return redis.call('hgetall','nokey')", "0"],
    &["hello", "3"],
    &["eval", "redis.setresp(3); return redis.call('hgetall', KEYS[1])", "1", "h"],
    &["hset", "h", "a", "1"],
    &["eval", "redis.setresp(3); local r = redis.call('hgetall', KEYS[1]); return {type(r), type(r.map), r.map.a}", "1", "h"],
    &["eval", "redis.setresp(3); return redis.call('hgetall', KEYS[1])", "1", "h"],
    &["eval", "return redis.call('hgetall', KEYS[1])", "1", "h"],
    &["eval", "redis.setresp(3); local r = redis.call('get','nokey'); return type(r)", "0"],
    &["eval", "redis.setresp(3); return {true, false}", "0"],
    &["eval", "return {true, false}", "0"],
    &["eval", "return {double=3.5}", "0"],
    &["eval", "return {double='3.5'}", "0"],
    &["eval", "return {big_number='123456789012345678901234567890'}", "0"],
    &["eval", "return {verbatim_string={format='txt', string='hello'}}", "0"],
    &["eval", "return {map={a=1}}", "0"],
    &["eval", "return {set={a=true}}", "0"],
    &["eval", "redis.setresp(3); local r = redis.call('zscore','z','a'); return type(r)", "0"],
    &["zadd", "z", "1.5", "a"],
    &["eval", "redis.setresp(3); local r = redis.call('zscore','z','a'); return r.double", "0"],
    &["eval", "redis.setresp(3); local r = redis.call('zscore','z','a'); return {type(r), r.double * 2}", "0"],
    &["eval", "redis.setresp(3); return redis.call('zscore','z','a')", "0"],
    &["eval", "redis.setresp(3); local r = redis.call('smembers','h2'); return type(r)", "0"],
    &["sadd", "st", "m1"],
    &["eval", "redis.setresp(3); local r = redis.call('smembers','st'); return {type(r.set), r.set.m1}", "0"],
    &["eval", "redis.setresp(3); return redis.call('smembers','st')", "0"],
    &["eval", "redis.setresp(4)", "0"],
    &["eval", "redis.setresp()", "0"],
    &["eval", "redis.setresp('x')", "0"],
    &["eval", "return redis.sha1hex()", "0"],
    &["eval", "return redis.error_reply()", "0"],
    &["eval", "return redis.status_reply(1)", "0"],
    &["eval", "redis.log(redis.LOG_WARNING, 'hello', 'world')", "0"],
    &["eval", "redis.log()", "0"],
    &["eval", "redis.log(99, 'x')", "0"],
    &["eval", "redis.set_repl(99)", "0"],
    &["eval", "redis.set_repl()", "0"],
    &["eval", "return redis.set_repl(redis.REPL_ALL)", "0"],
    &["eval", "return redis.debug('x')", "0"],
    &["eval", "return tostring(0.1)", "0"],
    &["eval", "return redis.call('set','k','v','px',1.5)", "0"],
    &["eval", "return redis.call('get',1e20)", "0"],
    &["eval", "return 1e20", "0"],
    &["eval", "return -0.5", "0"],
    &["eval", "return {1, {err='inner'}, {ok='fine'}}", "0"],
    &["eval", "return {err='x', ok='y'}", "0"],
    &["eval", "return redis.pcall('get')", "0"],
    &["eval", "local ok, e = pcall(redis.call, 'nosuch'); return {tostring(ok), type(e), e.err}", "0"],
    &["eval", "local ok, e = pcall(error, 'x'); return {tostring(ok), e}", "0"],
    &["eval", "return KEYS", "2", "a", "b", "c"],
    &["eval", "return ARGV", "2", "a", "b", "c"],
    &["eval", "return #KEYS", "0"],
    &["script", "load", "return 1"],
    &["script", "exists", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "abc"],
    &["script", "load", "syntax error"],
    &["script", "flush", "async"],
    &["script", "flush", "bogus"],
    &["script", "flush", "sync", "x"],
    &["script", "kill"],
    &["script", "help"],
    &["script", "bogus"],
    &["function", "kill"],
    &["function", "help"],
];

/// pcall, error places, number arguments, FUNCTION libraries, shebangs, MULTI.
const MORE: &[&[&str]] = &[
    &["set", "st", "abc"],
    &["eval", "local ok, e = pcall(redis.call, 'nosuch'); return e", "0"],
    &["eval", "local ok, e = pcall(function() return redis.call('nosuch') end); return {type(e), tostring(e)}", "0"],
    &["eval", "local ok, e = pcall(function() redis.call('incr', 'st') end); return e", "0"],
    &["eval", "local ok, e = pcall(function() error({err='X y'}) end); return {type(e), e}", "0"],
    &["eval", "local ok, e = pcall(function() redis.call('incr', 'st') end); error(e)", "0"],
    &["eval", "local ok, e = pcall(function() x = 1 end); return e", "0"],
    &["eval", "local t = setmetatable({}, {__index=function() error('deep') end}); return t.x", "0"],
    &["eval", "local function f() error('in f') end\nf()", "0"],
    &["eval", "\nlocal function f()\n  return redis.call('nosuch')\nend\nreturn f()", "0"],
    &["eval", "return nil + 1", "0"],
    &["eval", "return ('x'):rep(3)", "0"],
    &["eval", "return loadstring('return 1')()", "0"],
    &["eval", "return redis.call('get','x','y')", "0"],
    &["eval", "return redis.call('client','bogus')", "0"],
    &["eval", "return redis.call('config','get')", "0"],
    &["eval", "return coroutine.wrap(function() return 5 end)()", "0"],
    &["eval", "return _VERSION", "0"],
    &["eval", "return redis.call('rpush', 'mylist', 'a')", "0"],
    &["eval", "return redis.call('brpop','nolist',0)", "0"],
    &["eval", "error(true)", "0"],
    &["eval", "error('x', 0)", "0"],
    &["eval", "error('x', 2)", "0"],
    &["eval", "return redis.call('select', 1)", "0"],
    &["eval", "return redis.error_reply('x')", "0"],
    &["eval", "return redis.error_reply('-x')", "0"],
    &["eval", "return redis.error_reply('-CODE x')", "0"],
    &["eval", "return redis.status_reply('a\\r\\nb')", "0"],
    &["eval", "return {err='a\\r\\nb'}", "0"],
    &["eval", "return redis.pcall('incr','st')", "0"],
    &["eval", "return redis.pcall('incr','st').err", "0"],
    &["eval", "local t = {} t[1]=1 t[2]=2 t[4]=4 return t", "0"],
    &["eval", "return {1,2,{3,{4,{5}}}}", "0"],
    &["eval", "return string.format('%.3f', 1/3)", "0"],
    &["eval", "return tostring(1/3)", "0"],
    &["eval", "return redis.call('echo', 1/3)", "0"],
    &["eval", "return redis.call('echo', 1e15)", "0"],
    &["eval", "return redis.call('echo', 100)", "0"],
    &["eval", "return redis.call('echo', -0.0)", "0"],
    &["eval", "return redis.sha1hex(123)", "0"],
    &["eval", "return redis.sha1hex('abc')", "0"],
    &["eval", "return rawget(_G, 'redis') ~= nil", "0"],
    &["eval", "return getmetatable('x').__index == string", "0"],
    &["eval", "return type(math.pi)", "0"],
    &["eval", "return table.concat({1,2,3}, ',')", "0"],
    &["eval", "return #ARGV", "1", "a", "b", "c"],
    &["eval", "return redis.call('exists', KEYS[1])", "1", "st"],
    &["eval", "return redis.call('type', 'st')", "0"],
    &["eval", "return redis.call('type', 'st').ok", "0"],
    &["eval", "return redis.call('hgetall','nohash')", "0"],
    &["eval", "return redis.call('lrange','mylist',0,-1)", "0"],
    &["eval", "return redis.call('info','server') ~= nil", "0"],
    &["eval", "redis.call('set','a','1'); redis.call('set','b','2'); return redis.call('mget','a','b','c')", "0"],
    &["eval", "return redis.call('zadd','z','1','a','2','b')", "0"],
    &["eval", "return redis.call('zrange','z',0,-1,'withscores')", "0"],
    &["eval", "redis.setresp(3); return redis.call('zrange','z',0,-1,'withscores')", "0"],
    &["hello", "3"],
    &["eval", "redis.setresp(3); return redis.call('zrange','z',0,-1,'withscores')", "0"],
    &["eval", "return redis.call('zrange','z',0,-1,'withscores')", "0"],
    &["eval", "return {double=1/3}", "0"],
    &["eval", "return {1, false, nil, 3}", "0"],
    &["eval", "return nil", "0"],
    &["eval", "redis.setresp(3); return redis.call('get','nokey')", "0"],
    &["eval", "redis.setresp(3); return {false, true, nil}", "0"],
    &["eval", "return redis.call('hgetall','nohash')", "0"],
    &["eval", "return {map={a={1,2}}}", "0"],
    &["eval", "return {set={'x','y'}}", "0"],
    &["eval", "return {big_number='12'}", "0"],
    &["eval", "return {verbatim_string={format='mkd', string='x'}}", "0"],
    &["eval", "return redis.call('incr','st')", "0"],
    &["hello", "2"],
    &["function", "load", "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return {keys[1], args[1]} end)\nredis.register_function{function_name='f2', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end, flags={'no-writes'}, description='desc'}"],
    &["function", "load", "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return {keys[1], args[1]} end)\nredis.register_function{function_name='f2', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end, flags={'no-writes'}, description='desc'}"],
    &["function", "load", "replace", "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return {keys[1], args[1]} end)\nredis.register_function{function_name='f2', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end, flags={'no-writes'}, description='desc'}"],
    &["fcall", "f1", "1", "k", "v"],
    &["fcall", "f2", "1", "k", "v"],
    &["fcall_ro", "f1", "1", "k", "v"],
    &["fcall_ro", "f2", "1", "k", "v"],
    &["fcall", "nosuch", "0"],
    &["fcall", "f1", "-1"],
    &["fcall", "f1", "5"],
    // The function is looked up before the key count is read.
    &["fcall", "nosuch", "abc"],
    &["fcall", "nosuch", "-1"],
    &["fcall", "f1", "abc"],
    &["fcall_ro", "f1", "abc"],
    &["function", "list"],
    &["function", "list", "withcode", "libraryname", "my*"],
    &["function", "list", "libraryname", "zz*"],
    &["function", "list", "libraryname"],
    &["function", "list", "bogus"],
    &["function", "load", "return 1"],
    &["function", "load", "#!lua"],
    &["function", "load", "#!lua name=x"],
    &["function", "load", "#!lua name=x\n"],
    &["function", "load", "#!lua name=x\nredis.call('ping')"],
    &["function", "load", "#!lua name=x\nredis.register_function('a', 1)"],
    // A library whose top level never ends: stopped after 500 ms.
    &["function", "load", "#!lua name=spin\nwhile true do end"],
    &["function", "load", "#!lua name=x\nredis.register_function('a b', function() end)"],
    &["function", "load", "#!lua name=x\nredis.register_function('f1', function() end)"],
    &["function", "load", "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, flags={'bogus'}}"],
    &["function", "load", "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, bogus=1}"],
    &["function", "load", "#!lua name=x\nredis.register_function{callback=function() end}"],
    &["function", "load", "#!lua name=x\nredis.register_function{function_name='a'}"],
    &["function", "load", "#!lua name=x\nredis.register_function('a')"],
    &["function", "load", "#!lua name=x\nredis.register_function('a', function() end)\nredis.register_function('a', function() end)"],
    &["function", "load", "#!lua name=x\nfoo = 1"],
    &["function", "load", "#!lua name=x\nreturn foo"],
    &["function", "load", "#!lua name=x\nsyntax error"],
    &["function", "load", "#!py name=x\n"],
    &["function", "load", "#!lua name=x bogus=1\n"],
    &["function", "load", "#!lua name=a-b\n"],
    &["function", "load", "#!lua bogus\n"],
    &["function", "load", "#!lua name=y\nlocal function g() error('boom') end\nredis.register_function('g', g)"],
    &["fcall", "g", "0"],
    &["function", "load", "#!lua name=z\nredis.register_function('h', function() return redis.call('nosuch') end)"],
    &["fcall", "h", "0"],
    &["function", "load", "#!lua name=w\nredis.register_function('w', function(k,a) return {KEYS, ARGV} end)"],
    &["fcall", "w", "0"],
    &["function", "load", "#!lua name=lg\nredis.log(redis.LOG_NOTICE, 'loading')\nredis.register_function('lg', function(k,a) redis.log(redis.LOG_NOTICE, 'run'); return #k + #a end)"],
    &["fcall", "lg", "1", "a", "b"],
    &["function", "delete", "nosuch"],
    &["function", "delete", "y"],
    &["function", "stats"],
    &["function", "flush", "bogus"],
    &["function", "flush", "async"],
    &["function", "list"],
    &["eval", "#!lua flags=no-writes\nreturn redis.call('set','a','b')", "0"],
    &["eval", "#!lua\nreturn 1", "0"],
    &["eval", "#!lua flags=bogus\nreturn 1", "0"],
    &["eval", "#!lua name=x\nreturn 1", "0"],
    &["eval", "#!py\nreturn 1", "0"],
    &["eval", "#! lua\nreturn 1", "0"],
    &["eval", "#!lua flags=no-writes,allow-oom\nreturn redis.call('get','a')", "0"],
    &["script", "load", "return 1"],
    &["script", "exists", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "abc", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB"],
    &["evalsha", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"],
    &["evalsha_ro", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
    &["script", "flush"],
    &["evalsha", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
    &["script", "load"],
    &["script", "exists"],
    &["script", "flush", "sync", "x"],
    &["script"],
    &["eval", "return 1"],
    &["multi"],
    &["eval", "return redis.call('incr','cnt')", "0"],
    &["eval", "return redis.call('incr','cnt')", "0"],
    &["exec"],
    &["eval", "return redis.call('get', KEYS[1])", "1"],
    &["eval", "return 1", "1", "a"],
];

/// Shebang flags under EVAL_RO, and commands of every family called from scripts.
const FROM_SCRIPTS: &[&[&str]] = &[
    &["eval_ro", "#!lua\nreturn 1", "0"],
    &["eval_ro", "#!lua flags=no-writes\nreturn 1", "0"],
    &["eval", "#!lua\nreturn redis.call('set','a','1')", "0"],
    &["eval", "#!lua flags=\nreturn 1", "0"],
    &["script", "flush"],
    &[
        "script",
        "exists",
        "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
    ],
    &[
        "eval",
        "return redis.call('lpush', KEYS[1], ARGV[1], ARGV[2])",
        "1",
        "list",
        "a",
        "b",
    ],
    &[
        "eval",
        "return redis.call('blmove', 'list', 'other', 'LEFT', 'RIGHT', 0)",
        "0",
    ],
    &[
        "eval",
        "return redis.call('lmpop', '1', 'list', 'LEFT')",
        "0",
    ],
    &[
        "eval",
        "return redis.call('xadd', 'st', '1-1', 'f', 'v')",
        "0",
    ],
    &["eval", "return redis.call('xrange', 'st', '-', '+')", "0"],
    &["eval", "return redis.call('hello', '3')", "0"],
    &["eval", "return redis.call('ping', 'x')", "0"],
    &["eval", "return redis.call('dbsize')", "0"],
    &["eval", "return redis.call('time')[1] ~= nil", "0"],
    &["eval", "return redis.call('expire', 'list', 100)", "0"],
    &["eval", "return redis.call('ttl', 'list')", "0"],
    &["eval", "return redis.call('watch', 'x')", "0"],
    &["eval", "return redis.call('flushall')", "0"],
    &["eval", "return redis.call('keys', '*')", "0"],
    &["eval", "return redis.call('auth', 'x')", "0"],
    &["eval", "return redis.call('client', 'id') > 0", "0"],
    &["eval", "return redis.call('publish', 'ch', 'msg')", "0"],
    &[
        "eval",
        "return redis.call('config', 'get', 'maxmemory')",
        "0",
    ],
    &["eval", "return redis.call('info', 'nosuchsection')", "0"],
];

/// A RESP3 client: FUNCTION LIST/STATS maps and sets, typed script replies.
const RESP3: &[&[&str]] = &[
    &["hello", "3"],
    &["function", "load", "#!lua name=lib3\nredis.register_function{function_name='g1', callback=function(k, a) return {map={x=1}} end, flags={'no-writes', 'allow-stale'}}"],
    &["function", "list"],
    &["function", "list", "withcode"],
    &["function", "stats"],
    &["fcall", "g1", "0"],
    &["fcall_ro", "g1", "0"],
    &["eval", "return {double=0.1}", "0"],
    &["eval", "return {double=1e300*10}", "0"],
    // NaN prints as C's printf does: 0/0 has its sign bit set on x86.
    &["eval", "return {double=0/0}", "0"],
    &["eval", "return {double=-(0/0)}", "0"],
    &["eval", "redis.call('set', 'nan', 0/0); return redis.call('get', 'nan')", "0"],
    &["eval", "redis.call('set', 'nan', -(0/0)); return redis.call('get', 'nan')", "0"],
    &["eval", "return {1, {set={a=1}}, {map={}}}", "0"],
    &["eval", "redis.setresp(3); return redis.call('hello')", "0"],
    &["eval", "redis.setresp(3); return redis.call('config', 'get', 'maxmemory')", "0"],
    &["eval", "redis.setresp(3); local r = redis.call('config', 'get', 'maxmemory') return r.map.maxmemory", "0"],
    &["script", "exists", "x"],
    &["eval", "return redis.call('hgetall', 'nothing')", "0"],
    &["eval", "return false", "0"],
    &["eval", "return nil", "0"],
    &["eval", "redis.setresp(3) return redis.call('lpop', 'nothing')", "0"],
    &["eval", "return redis.call('lpop', 'nothing')", "0"],
    &["eval", "return redis.call('blpop', 'nothing', 0)", "0"],
    &["function", "delete", "lib3"],
];

/// A respd process with its own settings (killed when dropped).
fn respd_process(name: &str, extra: &[&str]) -> process::Process {
    let dir = process::temp_dir("scripting", name);
    process::respd(&dir, extra)
}

/// Waits until `check` holds (the other client's script has started).
fn eventually(mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(10));
    }
}

const BUSY: &[u8] =
    b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";

const BUSY_FUNCTION: &[u8] =
    b"-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n";

#[test]
fn a_slow_script_makes_others_busy_and_script_kill_stops_it() {
    let server = start();
    let addr = server.local_addr();
    let mut admin = Conn::open(addr);
    assert_eq!(
        admin.call(&["CONFIG", "SET", "busy-reply-threshold", "100"]),
        b"+OK\r\n"
    );
    assert_eq!(
        admin.call(&["CONFIG", "GET", "lua-time-limit"]),
        b"*2\r\n$14\r\nlua-time-limit\r\n$3\r\n100\r\n"
    );
    assert_eq!(
        admin.call(&["SCRIPT", "KILL"]),
        b"-NOTBUSY No scripts in execution right now.\r\n"
    );
    let mut looping = Conn::open(addr);
    looping.send(&["EVAL", "while true do end", "0"]);
    eventually(|| admin.call(&["GET", "x"]) == BUSY);
    assert_eq!(
        admin.call(&["FUNCTION", "KILL"]),
        BUSY,
        "FUNCTION KILL does not stop an EVAL"
    );
    assert_eq!(admin.call(&["EVAL", "return 1", "0"]), BUSY);
    assert_eq!(admin.call(&["SCRIPT", "KILL"]), b"+OK\r\n");
    assert_eq!(
        text(&looping.read()),
        "-ERR Script killed by user with SCRIPT KILL... script: 694a5fe1ddb97a4c6a1bf299d9537c7d3d0f84e7, on @user_script:1.\r\n"
    );
    assert_eq!(admin.call(&["PING"]), b"+PONG\r\n");
    assert_eq!(
        looping.call(&["EVAL", "return 'alive'", "0"]),
        b"$5\r\nalive\r\n"
    );
}

#[test]
fn a_script_that_wrote_is_unkillable_until_shutdown_nosave() {
    let server = respd_process("unkillable", &["--busy-reply-threshold", "100"]);
    let mut admin = Conn::open(server.addr);
    let mut looping = Conn::open(server.addr);
    looping.send(&["EVAL", "redis.call('set', 'k', 'v') while true do end", "0"]);
    eventually(|| admin.call(&["GET", "k"]) == BUSY);
    assert_eq!(
        text(&admin.call(&["SCRIPT", "KILL"])),
        "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n"
    );
    // Any other SHUTDOWN would save half a script: refused, as in Redis.
    assert_eq!(admin.call(&["SHUTDOWN"]), BUSY);
    assert_eq!(admin.call(&["SHUTDOWN", "SAVE"]), BUSY);
    admin.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(server.wait_exit(), "respd exits on SHUTDOWN NOSAVE");
}

#[test]
fn busy_and_kill_texts_match_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    for addr in [server.local_addr(), real.addr] {
        let mut admin = Conn::open(addr);
        admin.call(&["CONFIG", "SET", "busy-reply-threshold", "100"]);
        let mut looping = Conn::open(addr);
        looping.send(&["EVAL", "local i = 0 while true do i = i + 1 end", "0"]);
        eventually(|| admin.call(&["GET", "x"]) == BUSY);
        assert_eq!(admin.call(&["FUNCTION", "STATS"]), BUSY, "at {addr}");
        // MULTI runs beside a slow script; what it would queue is refused,
        // and so is EXEC, which discards the transaction saying why.
        let mut tx = Conn::open(addr);
        assert_eq!(tx.call(&["MULTI"]), b"+OK\r\n", "at {addr}");
        assert_eq!(tx.call(&["SET", "a", "1"]), BUSY, "at {addr}");
        assert_eq!(
            text(&tx.call(&["EXEC"])),
            format!(
                "-EXECABORT Transaction discarded because of: {}",
                &text(BUSY)[1..]
            ),
            "at {addr}"
        );
        assert_eq!(admin.call(&["SCRIPT", "KILL"]), b"+OK\r\n");
        assert_eq!(
            text(&looping.read()),
            "-ERR Script killed by user with SCRIPT KILL... script: 3a4b7dd9ac9c8e7fd6a7b3ef5bc7f9e1e2cd0de5, on @user_script:1.\r\n"
                .replace("3a4b7dd9ac9c8e7fd6a7b3ef5bc7f9e1e2cd0de5", &respd::scripting::sha1_hex(b"local i = 0 while true do i = i + 1 end")),
            "at {addr}"
        );
    }
}

#[test]
fn no_reader_sees_a_script_half_done() {
    let server = start();
    let addr = server.local_addr();
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut conn = Conn::open(addr);
            for _ in 0..30 {
                let reply = conn.call(&[
                    "EVAL",
                    "for i = 1, 500 do redis.call('incr', KEYS[1]) redis.call('incr', KEYS[2]) end return 1",
                    "2",
                    "a",
                    "b",
                ]);
                assert_eq!(reply, b":1\r\n");
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut reader = Conn::open(addr);
    let mut reads = 0;
    while !done.load(Ordering::SeqCst) {
        let reply = text(&reader.call(&["MGET", "a", "b"]));
        let values: Vec<&str> = reply
            .lines()
            .filter(|l| !l.starts_with(['*', '$']))
            .collect();
        assert!(
            values.len() < 2 || values[0] == values[1],
            "saw a script half done: {reply:?}"
        );
        reads += 1;
    }
    writer.join().unwrap();
    assert_eq!(
        reader.call(&["MGET", "a", "b"]),
        b"*2\r\n$5\r\n15000\r\n$5\r\n15000\r\n"
    );
    assert!(reads > 0);
}

#[test]
fn eval_in_multi_watch_notifications_and_monitor() {
    let server = start();
    let addr = server.local_addr();
    let mut client = Conn::open(addr);
    // EVAL inside MULTI runs at EXEC, in order.
    assert_eq!(client.call(&["MULTI"]), b"+OK\r\n");
    assert_eq!(
        client.call(&["EVAL", "return redis.call('incr', KEYS[1])", "1", "n"]),
        b"+QUEUED\r\n"
    );
    assert_eq!(client.call(&["INCR", "n"]), b"+QUEUED\r\n");
    assert_eq!(client.call(&["EXEC"]), b"*2\r\n:1\r\n:2\r\n");
    // A script's write breaks another client's WATCH.
    let mut other = Conn::open(addr);
    assert_eq!(client.call(&["WATCH", "w"]), b"+OK\r\n");
    assert_eq!(
        other.call(&["EVAL", "return redis.call('set', KEYS[1], 'x')", "1", "w"]),
        b"+OK\r\n"
    );
    client.call(&["MULTI"]);
    client.call(&["SET", "w", "mine"]);
    assert_eq!(client.call(&["EXEC"]), b"*-1\r\n");
    // Keyspace notifications and MONITOR see the script's commands.
    assert_eq!(
        client.call(&["CONFIG", "SET", "notify-keyspace-events", "KA"]),
        b"+OK\r\n"
    );
    let mut subscriber = Conn::open(addr);
    subscriber.call(&["SUBSCRIBE", "__keyspace@0__:ev"]);
    let mut monitor = Conn::open(addr);
    assert_eq!(monitor.call(&["MONITOR"]), b"+OK\r\n");
    other.call(&["EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "ev"]);
    assert_eq!(
        text(&subscriber.read()),
        "*3\r\n$7\r\nmessage\r\n$17\r\n__keyspace@0__:ev\r\n$3\r\nset\r\n"
    );
    let eval_line = text(&monitor.read());
    assert!(
        eval_line.ends_with("\"EVAL\" \"return redis.call('set', KEYS[1], 'v')\" \"1\" \"ev\"\r\n"),
        "{eval_line}"
    );
    let lua_line = text(&monitor.read());
    assert!(
        lua_line.ends_with(" [0 lua] \"set\" \"ev\" \"v\"\r\n"),
        "{lua_line}"
    );
}

#[test]
fn info_counts_cached_scripts() {
    let server = start();
    let mut client = Conn::open(server.local_addr());
    client.call(&["SCRIPT", "LOAD", "return 1"]);
    client.call(&["EVAL", "return 2", "0"]);
    let info = text(&client.call(&["INFO", "memory"]));
    assert!(info.contains("number_of_cached_scripts:2\r\n"), "{info}");
    for field in [
        "used_memory_lua:",
        "used_memory_scripts:",
        "used_memory_vm_eval:",
        "number_of_functions:0\r\n",
    ] {
        assert!(info.contains(field), "{field} missing in {info}");
    }
    client.call(&["SCRIPT", "FLUSH"]);
    let info = text(&client.call(&["INFO", "memory"]));
    assert!(info.contains("number_of_cached_scripts:0\r\n"), "{info}");
    // A script may call INFO too (it holds the VM: INFO must not wait for it).
    let reply = client.call(&[
        "EVAL",
        "return string.find(redis.call('INFO', 'memory'), 'number_of_cached_scripts:', 1, true) ~= nil",
        "0",
    ]);
    assert_eq!(text(&reply), ":1\r\n");
}

#[test]
fn the_aof_replays_what_scripts_wrote() {
    let dir = process::temp_dir("scripting", "aof");
    let server = process::respd(&dir, &["--appendonly", "yes", "--appendfsync", "always"]);
    let mut client = Conn::open(server.addr);
    client.call(&[
        "EVAL",
        "redis.call('set', 'a', '1') redis.call('rpush', 'l', 'x', 'y') return 1",
        "0",
    ]);
    client.call(&["FCALL", "nosuch", "0"]);
    drop(client);
    drop(server);
    let server = process::respd(&dir, &["--appendonly", "yes"]);
    let mut client = Conn::open(server.addr);
    assert_eq!(client.call(&["GET", "a"]), b"$1\r\n1\r\n");
    assert_eq!(
        client.call(&["LRANGE", "l", "0", "-1"]),
        b"*2\r\n$1\r\nx\r\n$1\r\ny\r\n"
    );
}

#[test]
fn math_random_follows_redis_sequence() {
    let compared = differential(&[
        &[
            "EVAL",
            "return {math.random(100), math.random(100), math.floor(math.random() * 1000000)}",
            "0",
        ],
        &[
            "EVAL",
            "return {math.random(5, 10), math.random(1000)}",
            "0",
        ],
        &[
            "EVAL",
            "math.randomseed(7) return {math.random(100), math.random(1000)}",
            "0",
        ],
        &["EVAL", "return math.random(0)", "0"],
    ]);
    println!("{compared} replies compared with redis-server");
}

#[test]
fn sha1hex_matches_redis_for_many_lengths() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let mut ours = Conn::open(server.local_addr());
    let mut theirs = Conn::open(real.addr);
    for len in [0usize, 1, 55, 56, 63, 64, 65, 119, 120, 1000] {
        let input = "x".repeat(len);
        let case = ["EVAL", "return redis.sha1hex(ARGV[1])", "0", input.as_str()];
        assert_eq!(ours.call(&case), theirs.call(&case), "length {len}");
    }
}

/// Runs a real application's test program (tests/apps) against a fresh
/// respd and checks it passed. Outside CI, a missing runtime or library
/// skips it with a message; in CI (`CI` set, .ci/run installs them) it fails.
fn run_app(name: &str, program: &str, script: &str, probe: &[&str]) {
    let apps = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apps");
    let probe = std::process::Command::new(program)
        .current_dir(&apps)
        .args(probe)
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is not installed (see .ci/run)"
        );
        eprintln!("{name} is not installed: skipping (see .ci/run for the install step)");
        return;
    }
    let server = start();
    let port = server.local_addr().port().to_string();
    let output = std::process::Command::new(program)
        .current_dir(&apps)
        .args([script, port.as_str()])
        .args(login_args())
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success() && stdout.contains(", 0 failed"),
        "{name} failed:\n{stdout}\n{}",
        text(&output.stderr)
    );
}

/// The test user's name and password, as the apps' optional last
/// arguments, when the tests run as it.
fn login_args() -> Vec<&'static str> {
    if common::as_test_user() {
        vec![common::TEST_USER.0, common::TEST_USER.1]
    } else {
        Vec::new()
    }
}

#[test]
fn python_redis_lock_works_unmodified() {
    run_app(
        "python-redis-lock",
        "python3",
        "redis_lock_app.py",
        &["-c", "import redis_lock"],
    );
}

#[test]
fn bullmq_queue_worker_delayed_and_retried_jobs() {
    // BullMQ's scripts also use cmsgpack and cjson (src/scripting/libs).
    run_app(
        "bullmq",
        "node",
        "bullmq_app.mjs",
        &["-e", "require.resolve('bullmq')"],
    );
}

/// SCRIPT KILL's error cannot be caught: pcall, xpcall and the rest
/// raise it again, so the loops below end as in Redis (which re-raises
/// it from its hook on every line).
#[test]
fn script_kill_stops_scripts_that_catch_errors() {
    const SCRIPTS: &[&str] = &[
        "while true do pcall(function() while true do end end) end",
        "while true do pcall(redis.call, 'ping') end",
        "while true do pcall(function() redis.call('ping') end) end",
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
    ];
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    for addr in [server.local_addr(), real.addr] {
        let mut admin = Conn::open(addr);
        admin.call(&["CONFIG", "SET", "busy-reply-threshold", "50"]);
        for script in SCRIPTS {
            let mut looping = Conn::open(addr);
            looping.send(&["EVAL", script, "0"]);
            eventually(|| admin.call(&["GET", "x"]) == BUSY);
            assert_eq!(
                admin.call(&["SCRIPT", "KILL"]),
                b"+OK\r\n",
                "{script} at {addr}"
            );
            assert_eq!(
                text(&looping.read()),
                format!(
                    "-ERR Script killed by user with SCRIPT KILL... script: {}, on @user_script:1.\r\n",
                    respd::scripting::sha1_hex(script.as_bytes())
                ),
                "{script} at {addr}"
            );
            assert_eq!(admin.call(&["PING"]), b"+PONG\r\n", "{script} at {addr}");
        }
        let library = "#!lua name=spinning\n\
            redis.register_function('spin', function() while true do pcall(function() while true do end end) end end)\n\
            redis.register_function{function_name='spin_ro', callback=function() while true do pcall(redis.call, 'ping') end end, flags={'no-writes'}}";
        assert_eq!(
            admin.call(&["FUNCTION", "LOAD", library]),
            b"$8\r\nspinning\r\n"
        );
        for (name, line) in [("spin", 2), ("spin_ro", 3)] {
            let mut looping = Conn::open(addr);
            looping.send(&["FCALL", name, "0"]);
            eventually(|| admin.call(&["GET", "x"]) == BUSY_FUNCTION);
            assert_eq!(
                admin.call(&["FUNCTION", "KILL"]),
                b"+OK\r\n",
                "{name} at {addr}"
            );
            assert_eq!(
                text(&looping.read()),
                format!("-ERR Script killed by user with SCRIPT KILL... script: {name}, on @user_function:{line}.\r\n"),
                "{name} at {addr}"
            );
            assert_eq!(admin.call(&["GET", "x"]), b"$-1\r\n");
        }
    }
}

/// Coroutines and load's reader catch errors too; Redis cannot kill these
/// loops (a coroutine keeps its old hook), respd can.
#[test]
fn script_kill_stops_coroutines_and_load_readers() {
    const SCRIPTS: &[&str] = &[
        "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
        "while true do local co = coroutine.wrap(function() while true do end end); pcall(co) end",
        "while true do load(function() while true do end end) end",
    ];
    let server = start();
    let addr = server.local_addr();
    let mut admin = Conn::open(addr);
    admin.call(&["CONFIG", "SET", "busy-reply-threshold", "50"]);
    for script in SCRIPTS {
        let mut looping = Conn::open(addr);
        looping.send(&["EVAL", script, "0"]);
        eventually(|| admin.call(&["GET", "x"]) == BUSY);
        assert_eq!(admin.call(&["SCRIPT", "KILL"]), b"+OK\r\n", "{script}");
        assert_eq!(
            text(&looping.read()),
            format!(
                "-ERR Script killed by user with SCRIPT KILL... script: {}, on @user_script:1.\r\n",
                respd::scripting::sha1_hex(script.as_bytes())
            ),
            "{script}"
        );
        assert_eq!(admin.call(&["PING"]), b"+PONG\r\n", "{script}");
    }
}

#[test]
fn shutdown_nosave_stops_a_script_that_catches_errors() {
    let server = respd_process("pcall_shutdown", &["--busy-reply-threshold", "50"]);
    let mut admin = Conn::open(server.addr);
    let mut looping = Conn::open(server.addr);
    looping.send(&[
        "EVAL",
        "redis.call('set', 'k', 'v') while true do pcall(function() while true do end end) end",
        "0",
    ]);
    eventually(|| admin.call(&["GET", "k"]) == BUSY);
    admin.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(server.wait_exit(), "respd exits on SHUTDOWN NOSAVE");
}

/// The globals, the library tables and the metatables a script can reach
/// are read-only, with Redis's errors: no script changes what the next one
/// sees (each attempt is followed by a script that looks).
#[test]
fn no_script_can_change_the_globals_or_the_libraries() {
    const ATTEMPTS: &[&str] = &[
        "_G.x = 1",
        "x = 1",
        "KEYS = {}",
        "redis.call = nil",
        "redis.x = 1",
        "string.format = nil",
        "string.x = 1",
        "table.insert = nil",
        "math.x = 1",
        "cjson.encode = nil",
        "setmetatable(_G, {})",
        "setmetatable(_G, nil)",
        "setmetatable(redis, {})",
        "setmetatable(getmetatable(''), {})",
        "rawset(_G, 'x', 1)",
        "rawset(string, 'x', 1)",
        "rawset(getmetatable(''), '__index', 1)",
        "local m = getmetatable(_G); m.__index = nil",
        "getmetatable('').__index = {}",
        "table.insert(_G, 1)",
        "table.insert(string, 1)",
        "table.insert(_G, 1, 2)",
        "table.remove(_G)",
        "table.sort(redis)",
        "return {pcall(setmetatable, _G, nil)}",
        "return {pcall(table.insert, string, 1)}",
        "return {pcall(setmetatable, getmetatable(_G), nil)}",
        // What a script may still do.
        "local t = setmetatable({}, {__index = _G}); return type(t.redis)",
        "local t = setmetatable({}, {__metatable = 'no'}); return getmetatable(t)",
        "local t = {1, 2} table.insert(t, 1, 0) table.insert(t, 9) return t",
        "table.insert(KEYS, 1); return #KEYS",
        "local n = 0 for k, v in pairs(getmetatable(_G)) do n = n + 1 end return n",
        "return {type(getmetatable(_G).__newindex), type(getmetatable(redis)), type(getmetatable(''))}",
        "return getmetatable('').__index == string",
        // Argument errors name the script's line, as C functions' do.
        "table.insert(_G)",
        "table.insert()",
        "local t = {} table.insert(t, 'x', 2)",
        "setmetatable(1, {})",
        "setmetatable({}, 1)",
    ];
    let mut cases: Vec<Vec<&str>> = Vec::new();
    for attempt in ATTEMPTS {
        cases.push(vec!["eval", attempt, "0"]);
        cases.push(vec![
            "eval",
            "return {type(redis), type(string), type(_G), type(redis.call), string.format('%d', 7), ('x'):rep(2), _G[1] == nil, type(getmetatable('').__index)}",
            "0",
        ]);
    }
    let cases: Vec<&[&str]> = cases.iter().map(|case| &case[..]).collect();
    let compared = differential(&cases);
    println!("{compared} replies compared with redis-server");
}

/// Redis's Lua reads every chunk as text: precompiled code (string.dump's
/// output) fails on its first byte, whether in EVAL, SCRIPT LOAD,
/// loadstring or load. Scripts may not block in XREAD/XREADGROUP.
#[test]
fn binary_chunks_and_blocking_stream_reads_are_refused_as_in_redis() {
    let dumped =
        "local f, e = loadstring(string.dump(function() return 1 end)) return {type(f), e}";
    let cases: &[&[&str]] = &[
        &["eval", "\x1bLuaQ", "0"],
        &["eval", "\x1b", "0"],
        &["script", "load", "\x1bLuaQ\x00\x01"],
        &["eval", dumped, "0"],
        &["eval", "local f, e = loadstring(string.dump(function() return 1 end), '=named') return e", "0"],
        &["eval", "local f, e = loadstring(string.dump(function() return 1 end), '@file') return e", "0"],
        &["eval", "local f, e = loadstring('\\27Lua') return e", "0"],
        &["eval", "local f, e = loadstring(string.rep('\\27', 100) .. '\\n' .. string.rep('y', 100)) return e", "0"],
        &["eval", "local i = 0 local f, e = load(function() i = i + 1 if i == 1 then return '\\27Lua' end end) return e", "0"],
        &["eval", "local i = 0 local f, e = load(function() i = i + 1 if i == 1 then return '\\27Lua' end end, 'x') return e", "0"],
        &["eval", "local i = 0 local f = load(function() i = i + 1 if i == 1 then return 'return 5' end end) return f()", "0"],
        &["eval", "local f = loadstring(' return 6') return f()", "0"],
        &["eval", "return #string.dump(function() return 1 end) > 10", "0"],
        &["eval", "return redis.call('xread','block',0,'streams','s','$')", "0"],
        &["eval", "return redis.call('XREAD','BLOCK',10,'streams','s','0')", "0"],
        &["eval", "return redis.pcall('xread','count','x','block',0,'streams','s','$')", "0"],
        &["eval", "return redis.pcall('xread','block','x','streams','s','$')", "0"],
        &["eval", "redis.call('xgroup','create','s2','g','$','mkstream') return redis.call('xreadgroup','group','g','c','block',0,'streams','s2','>')", "0"],
        &["eval", "redis.call('xadd','s','1-1','a','1') return redis.call('xread','count',1,'streams','s','0')", "0"],
        &["eval", "return redis.call('blmpop',0,1,'nol','left')", "0"],
        &["eval", "return redis.call('blmove','nol','x','left','left',0)", "0"],
    ];
    let compared = differential(cases);
    println!("{compared} replies compared with redis-server");
}

/// FUNCTION as Redis 7.0: function names are case-insensitive (FCALL and
/// clashes between libraries), a library sees only `redis` (register_function,
/// log, the constants) while it loads, the `#!` line's errors and order,
/// FUNCTION LIST / FLUSH argument errors.
#[test]
fn function_names_load_time_globals_and_arguments_match_redis() {
    let cases: &[&[&str]] = &[
        &["function", "load", "#!lua name=lib1\nredis.register_function('test', function() return 'hello1' end)"],
        &["fcall", "TEST", "0"],
        &["fcall", "Test", "0"],
        &["function", "load", "#!lua name=lib2\nredis.register_function('TEST', function() return 2 end)"],
        &["function", "load", "#!lua name=LIB1\nredis.register_function('x1', function() return 2 end)"],
        &["function", "load", "#!lua name=lib3\nredis.register_function('f', function() return 1 end)\nredis.register_function('F', function() return 2 end)"],
        &["function", "list", "libraryname", "LIB*"],
        &["function", "list", "libraryname", "lib1", "libraryname", "lib1"],
        &["function", "list", "withcode", "withcode"],
        &["function", "flush", "sync", "extra"],
        &["function", "load", "#!lua name=lib4\nredis.setresp(3)"],
        &["function", "load", "#!lua name=lib4\nmath.random()"],
        &["function", "load", "#!lua name=lib4\nreturn redis.call('ping')"],
        &["function", "load", "#!lua name=lib4\nredis.log(redis.LOG_WARNING, 'x') redis.register_function('f4', function() return 1 end)"],
        &["function", "load", "#!lua name=lib5\nreturn type(redis.register_function)"],
        &["function", "load", "#!lua name=lib5\nlocal x = redis.sha1hex('a')"],
        &["function", "load", "#!lua name=lib5\nlocal x = redis.error_reply('a')"],
        &["function", "load", "#!lua name=lib5\nlocal x = redis.pcall('ping')"],
        &["function", "load", "#!lua name=lib5\nlocal x = redis.set_repl(1)"],
        &["function", "load", "#!lua name=lib5\nlocal x = redis.REPL_ALL"],
        &["function", "load", "#!lua name=lib5\nlocal x = redis.REDIS_VERSION_NUM redis.register_function('f5', function() return x end)"],
        &["function", "load", "#!lua name=lib6\nlocal x = type(pcall)"],
        &["function", "load", "#!lua name=lib6\nlocal x = KEYS"],
        &["function", "load", "#!lua name=lib6\nredis.register_function('f6', function() return redis.register_function('g', function() end) end)"],
        &["fcall", "f6", "0"],
        &["eval", "redis.register_function('g', function() end)", "0"],
        &["eval", "return type(redis.register_function)", "0"],
        &["function", "load", "#!lua name=lib7\nredis.register_function('f7', function() return math.random() > 0 end)"],
        &["fcall", "f7", "0"],
        &["function", "load", "#!LUA name=lib9\nredis.register_function('f9', function() return 1 end)"],
        &["function", "load", "#!luax name=lib9"],
        &["function", "load", "#!lua name=lib9 name=lib10\nredis.register_function('f10', function() return 1 end)"],
        &["function", "load", "#!lua  name=lib11\nredis.register_function('f11', function() return 1 end)"],
        &["function", "load", "#! lua name=lib12\nredis.register_function('f12', function() return 1 end)"],
        &["function", "load", "#!lua name=lib14\n"],
        &["function", "load", "REPLACE", "#!lua name=lib1\nredis.register_function('test', function() return 'again' end)"],
        &["function", "load", "bogus", "#!lua name=lib1\nredis.register_function('test', function() return 'again' end)"],
        &["function", "list", "libraryname", "LIB1"],
        &["function", "delete", "LIB1"],
        &["fcall_ro", "TEST", "0"],
        &["function", "load", "#!lua name=lib15\nredis.register_function('t15', function() return redis.setresp end)"],
        &["fcall", "t15", "0"],
        &["function", "load", "#!lua name=lib16\nredis.register_function{function_name='T16', callback=function() return 1 end}"],
        &["fcall", "t16", "0"],
        &["function", "load", "#!lua name=lib17\nlocal function f() end redis.register_function('test', f)"],
        &["function", "load", "#!lua name=lib18\nredis.register_function('x', function() end) error('boom')"],
        &["function", "load", "#!lua name=lib19\nredis.register_function('_G', function() end)"],
        &["function", "load", "#!lua name=lib20\nredis.register_function('a b', function() end)"],
        &["function", "load", "#!lua name=lib21\nredis.register_function('', function() end)"],
        &["function", "load", "#!lua name=lib23\nredis.call = 1"],
        &["function", "load", "#!lua name=lib24\nredis.foo()"],
        &["function", "load", "#!lua name=lib25\nlocal a = redis.LOG_DEBUG .. redis.LOG_VERBOSE .. redis.LOG_NOTICE"],
        &["function", "load", "replace", "#!lua name=kept\nlocal lib = redis\nlib.register_function('g2', function() lib.register_function('f1', function() end) end)\nlib.register_function('g3', function() lib.log(lib.LOG_WARNING, 'hi') return 1 end)\nlib.register_function('g4', function() return {pcall(lib.register_function, 'f1', function() end)} end)\nlib.register_function('g5', function() lib.redis = redis end)"],
        &["fcall", "g2", "0"],
        &["fcall", "g3", "0"],
        &["fcall", "g4", "0"],
        &["fcall", "g5", "0"],
        &["function", "load", "#!lua name=lib30\nredis.math.random()"],
        &["function", "load", "#!lua name=lib30\nredis.redis.call('ping')"],
        &["function", "load", "#!lua name=\"quoted\"\nredis.register_function('q', function() return 1 end)"],
        &["function", "load", "#!lua name=\"unbalanced\nredis.register_function('q2', function() return 1 end)"],
        &["function", "load", "#!lua name='single' \nredis.register_function('q3', function() return 1 end)"],
    ];
    let compared = differential(cases);
    println!("{compared} replies compared with redis-server");
}

/// A wide unpack range overflowed Lua 5.1's count and crashed the server;
/// Redis refuses it. The server must still answer afterwards.
#[test]
fn unpack_with_huge_ranges_is_refused_as_in_redis() {
    let cases: &[&[&str]] = &[
        &["eval", "return {unpack({1,2,3}, -2, 2147483647)}", "0"],
        &["eval", "return {unpack({1,2,3}, 0, 2147483647)}", "0"],
        &["eval", "return {unpack({1,2,3}, -2147483648, -2)}", "0"],
        &["eval", "return {unpack({1,2,3}, -1, -2)}", "0"],
        &["eval", "return {unpack({1,2,3}, 1, -1)}", "0"],
        &["eval", "return {unpack({1,2,3}, 1, 100000)}", "0"],
        &["eval", "return {unpack({1,2,3}, '1', '2')}", "0"],
        &["eval", "return {unpack({1,2,3}, 1.7, 2.9)}", "0"],
        &["eval", "return {unpack({1,2,3}, nil, 2)}", "0"],
        &["eval", "return {unpack({1,2,3}, 'x')}", "0"],
        &["eval", "return {unpack(1)}", "0"],
        &["eval", "local a = {} for i = 1, 7999 do a[i] = 1 end return redis.call('lpush', 'l', unpack(a))", "0"],
        &["eval", "local a = {} for i = 1, 8000 do a[i] = 1 end return redis.call('lpush', 'l', unpack(a))", "0"],
        &["eval", "local a = {} for i = 1, 7998 do a[i] = 1 end return redis.call('lpush', 'l', unpack(a, 1))", "0"],
        &["ping"],
    ];
    let compared = differential(cases);
    println!("{compared} replies compared with redis-server");
}

/// Redis's own suite: 10000 scripts (and as many FUNCTION LOADs) leave
/// used_memory_lua under 100 KB: garbage is collected as scripts run.
#[test]
fn scripts_and_function_loads_do_not_pile_up_lua_memory() {
    let server = start();
    let mut conn = Conn::open(server.local_addr());
    let library = "#!lua name=test\nredis.register_function('test', function(KEYS, ARGV)\n return redis.call('incr', KEYS[1]) \nend)";
    let mut batch = Vec::new();
    for _ in 0..10_000 {
        batch.extend(
            Frame::command(&["EVAL", "return redis.call('incr', KEYS[1])", "1", "x"]).to_bytes(),
        );
        batch.extend(Frame::command(&["FUNCTION", "LOAD", "REPLACE", library]).to_bytes());
        batch.extend(Frame::command(&["FCALL", "test", "1", "y"]).to_bytes());
    }
    conn.0.get_mut().write_all(&batch).unwrap();
    for _ in 0..30_000 {
        conn.read();
    }
    assert_eq!(conn.call(&["GET", "y"]), b"$5\r\n10000\r\n");
    let info = text(&conn.call(&["INFO", "memory"]));
    let used: usize = info
        .lines()
        .find_map(|line| line.strip_prefix("used_memory_lua:"))
        .and_then(|value| value.trim().parse().ok())
        .expect("used_memory_lua in INFO");
    assert!(used < 100 * 1024, "used_memory_lua is {used}");
}

/// COMMAND GETKEYS finds EVAL's and FCALL's keys after their key count.
#[test]
fn command_getkeys_reads_script_key_counts_as_redis() {
    let cases: &[&[&str]] = &[
        &["command", "getkeys", "eval", "script", "1", "x", "foo"],
        &["command", "getkeys", "fcall", "test", "1", "x", "foo"],
        &[
            "command", "getkeys", "fcall_ro", "test", "2", "x", "y", "foo",
        ],
        &["command", "getkeys", "evalsha", "abc", "2", "a", "b"],
        &["command", "getkeys", "EVAL_RO", "s", "1", "a"],
        &["command", "getkeys", "eval", "script", "0"],
        &["command", "getkeys", "eval", "script", "3", "x"],
        &["command", "getkeys", "eval", "script", "-1"],
        &["command", "getkeys", "eval", "script", "abc"],
        &["command", "getkeys", "eval", "script"],
    ];
    let compared = differential(cases);
    println!("{compared} replies compared with redis-server");
}

#[test]
fn sort_in_scripts_orders_sets_and_reads_weights_as_redis() {
    // A set left unsorted (BY a constant) comes out sorted ALPHA from a
    // script, so the script's effects are the same everywhere.
    let compared = differential(&[
        &[
            "sadd", "s", "pear", "apple", "fig", "Banana", "kiwi", "10", "9",
        ],
        &["rpush", "l", "3", "1", "2"],
        &["mset", "w_1", "30", "w_2", "20", "w_3", "10"],
        &[
            "eval",
            "return redis.call('sort', KEYS[1], 'by', 'nosort')",
            "1",
            "s",
        ],
        &[
            "eval",
            "return redis.call('sort_ro', KEYS[1], 'by', 'nosort', 'desc')",
            "1",
            "s",
        ],
        &[
            "eval",
            "return redis.call('sort', KEYS[1], 'by', 'w_*')",
            "1",
            "l",
        ],
        &[
            "eval",
            "return redis.call('sort', KEYS[1], 'get', 'w_*', 'get', 'nope_*')",
            "1",
            "l",
        ],
        &["eval", "return redis.pcall('sort', KEYS[1])", "1", "s"],
        &[
            "eval",
            "return redis.call('sort', KEYS[1], 'alpha', 'store', KEYS[2])",
            "2",
            "s",
            "dst",
        ],
        &["lrange", "dst", "0", "-1"],
        &[
            "eval",
            "return redis.call('object', 'encoding', KEYS[1])",
            "1",
            "s",
        ],
        &[
            "eval",
            "return redis.call('lcs', KEYS[1], KEYS[2], 'idx')",
            "2",
            "w_1",
            "w_2",
        ],
    ]);
    println!("{compared} replies compared with redis-server");
}

/// A table that contains itself: Redis writes nested replies until its
/// Lua stack is full (7995 arrays deep; a map costs 3 slots a level), then
/// an error; respd writes the same bytes, without recursing on its small
/// worker stack (a debug build overflowed it before).
#[test]
fn self_referencing_replies_match_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let scripts = [
        "local a = {} local b = {a} a[1] = b return a",
        "local a = {} a[1] = {1, a, 2} return a",
        "local a = {} a['map'] = {k = a} return a",
        "local a = {} a['set'] = {[a] = true} return a",
    ];
    for resp in ["2", "3"] {
        let mut ours = common::raw(server.local_addr());
        let mut theirs = common::raw(real.addr);
        // HELLO's reply names the server: read past it, unread.
        let hello = [cmd(&["hello", resp]), cmd(&["ping"])].concat();
        until_pong(&mut ours, &hello);
        until_pong(&mut theirs, &hello);
        for script in scripts {
            let request = [cmd(&["eval", script, "0"]), cmd(&["ping"])].concat();
            let (mine, reference) = (
                until_pong(&mut ours, &request),
                until_pong(&mut theirs, &request),
            );
            assert!(
                mine == reference,
                "RESP{resp} {script}: {} bytes from respd, {} from redis",
                mine.len(),
                reference.len()
            );
        }
    }
}

/// Sends `request` (ending in PING) and reads until the PONG.
fn until_pong(stream: &mut TcpStream, request: &[u8]) -> Vec<u8> {
    use std::io::Read;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while !got.ends_with(b"+PONG\r\n") {
        let n = stream.read(&mut buf).expect("the reply ends with PONG");
        assert!(n > 0, "connection closed before PONG");
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// The bulk string in a reply (SCRIPT LOAD's SHA-1).
fn bulk_text(reply: &[u8]) -> String {
    let text = text(reply);
    text.lines().nth(1).expect("a bulk string").to_string()
}

/// The integer of a `:n` reply.
fn integer(reply: &[u8]) -> i64 {
    let text = text(reply);
    let digits = text.strip_prefix(':').map(str::trim_end);
    digits
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("not an integer reply: {text:?}"))
}

/// Sends `requests` from a thread of its own (a large pipeline must not
/// wait for its replies to be read) and reads `count` replies in order.
fn pipeline(conn: &mut Conn, requests: Vec<u8>, count: usize) -> Vec<Vec<u8>> {
    let mut stream = conn.0.get_ref().try_clone().unwrap();
    let sender = std::thread::spawn(move || stream.write_all(&requests).unwrap());
    let replies = (0..count).map(|_| conn.read()).collect();
    sender.join().unwrap();
    replies
}

/// A connection's pipelined scripts share one hold of the EXEC gate, from
/// one buffered script to the next: whatever else is in the pipeline,
/// whatever other clients do meanwhile, every reply is exact and in order,
/// nobody sees a script half done, and another client's SCRIPT KILL,
/// CLIENT UNPAUSE or INFO is never shut out by a pipeline waiting mid-way.
#[test]
fn pipelined_scripts_among_other_commands_reply_exactly_and_in_order() {
    let server = start();
    let addr = server.local_addr();
    let mut admin = Conn::open(addr);
    // Two increments of 1 per script: a half-done script shows an odd value.
    let sha = bulk_text(&admin.call(&[
        "SCRIPT",
        "LOAD",
        "redis.call('INCR', KEYS[1]) return redis.call('INCR', KEYS[1])",
    ]));
    let library = "#!lua name=batch\nredis.register_function('bump', function(keys) return redis.call('INCRBY', keys[1], 2) end)";
    assert_eq!(
        admin.call(&["FUNCTION", "LOAD", library]),
        b"$5\r\nbatch\r\n"
    );
    const ROUNDS: usize = 1500;
    let mut requests = Vec::new();
    let mut push = |args: &[&str]| requests.extend(Frame::command(args).to_bytes());
    for round in 0..ROUNDS {
        let value = round.to_string();
        let key = format!("k{round}");
        push(&["EVALSHA", &sha, "1", "counter"]);
        push(&["FCALL", "bump", "1", "counter"]);
        push(&["EVALSHA", &sha.to_uppercase(), "1", "counter"]);
        push(&["SET", &key, &value]);
        push(&["EVAL", "return redis.call('GET', KEYS[1])", "1", &key]);
        push(&["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"]);
        push(&["MULTI"]);
        push(&["EVALSHA", &sha, "1", "counter"]);
        push(&["EXEC"]);
        push(&["GET", &key]);
    }
    push(&["PING"]);
    // Meanwhile another client writes the same key and asks to kill.
    let other = std::thread::spawn(move || {
        let mut conn = Conn::open(addr);
        let mut seen = Vec::new();
        for _ in 0..ROUNDS {
            seen.push(integer(&conn.call(&["INCRBY", "counter", "2"])));
            let now = text(&conn.call(&["GET", "counter"]));
            let now: i64 = now.lines().nth(1).unwrap().parse().unwrap();
            assert_eq!(now % 2, 0, "saw a script half done");
            assert_eq!(
                conn.call(&["SCRIPT", "KILL"]),
                b"-NOTBUSY No scripts in execution right now.\r\n"
            );
        }
        seen
    });
    let mut conn = Conn::open(addr);
    let replies = pipeline(&mut conn, requests, ROUNDS * 10 + 1);
    let mut totals = other.join().unwrap();
    let mut last = 0;
    let mut ours = |reply: &[u8]| {
        let total = integer(reply);
        assert!(total > last && total % 2 == 0, "{total} after {last}");
        last = total;
        total
    };
    for (round, replies) in replies.chunks(10).take(ROUNDS).enumerate() {
        let value = round.to_string();
        let bulk = format!("${}\r\n{value}\r\n", value.len());
        totals.push(ours(&replies[0]));
        totals.push(ours(&replies[1]));
        totals.push(ours(&replies[2]));
        assert_eq!(replies[3], b"+OK\r\n");
        assert_eq!(text(&replies[4]), bulk);
        assert_eq!(
            replies[5],
            b"-NOSCRIPT No matching script. Please use EVAL.\r\n"
        );
        assert_eq!(replies[6], b"+OK\r\n");
        assert_eq!(replies[7], b"+QUEUED\r\n");
        let exec = text(&replies[8]);
        let inner = exec.strip_prefix("*1\r\n").expect("EXEC's one reply");
        totals.push(ours(inner.as_bytes()));
        assert_eq!(text(&replies[9]), bulk);
    }
    assert_eq!(replies[ROUNDS * 10], b"+PONG\r\n");
    // Every increment of 2 happened once, whole.
    totals.sort_unstable();
    let expected: Vec<i64> = (1..=totals.len() as i64).map(|n| n * 2).collect();
    assert_eq!(totals, expected);

    // A slow script in the middle of a pipeline: the others get -BUSY and
    // SCRIPT KILL stops it; the scripts after it run.
    assert_eq!(
        admin.call(&["CONFIG", "SET", "busy-reply-threshold", "100"]),
        b"+OK\r\n"
    );
    let mut requests = Vec::new();
    for args in [
        &["EVALSHA", &sha, "1", "slow"][..],
        &["EVAL", "while true do end", "0"],
        &["EVALSHA", &sha, "1", "slow"],
        &["GET", "slow"],
        &["PING"],
    ] {
        requests.extend(Frame::command(args).to_bytes());
    }
    let mut stream = conn.0.get_ref().try_clone().unwrap();
    stream.write_all(&requests).unwrap();
    eventually(|| admin.call(&["GET", "x"]) == BUSY);
    assert_eq!(admin.call(&["EVALSHA", &sha, "1", "slow"]), BUSY);
    assert_eq!(admin.call(&["SCRIPT", "KILL"]), b"+OK\r\n");
    assert_eq!(conn.read(), b":2\r\n");
    assert_eq!(
        text(&conn.read()),
        "-ERR Script killed by user with SCRIPT KILL... script: 694a5fe1ddb97a4c6a1bf299d9537c7d3d0f84e7, on @user_script:1.\r\n"
    );
    assert_eq!(conn.read(), b":4\r\n");
    assert_eq!(conn.read(), b"$1\r\n4\r\n");
    assert_eq!(conn.read(), b"+PONG\r\n");

    // CLIENT PAUSE WRITE lets a no-writes script by and holds the next
    // one: that one waits without the gate, so INFO and UNPAUSE get in.
    let read_only = bulk_text(&admin.call(&[
        "SCRIPT",
        "LOAD",
        "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])",
    ]));
    assert_eq!(
        admin.call(&["CLIENT", "PAUSE", "100000", "WRITE"]),
        b"+OK\r\n"
    );
    let mut requests = Vec::new();
    for args in [
        &["EVALSHA", &read_only, "1", "paused"][..],
        &["EVALSHA", &sha, "1", "paused"],
        &["EVALSHA", &read_only, "1", "paused"],
        &["PING"],
    ] {
        requests.extend(Frame::command(args).to_bytes());
    }
    stream.write_all(&requests).unwrap();
    eventually(|| text(&admin.call(&["INFO", "clients"])).contains("blocked_clients:1\r\n"));
    assert_eq!(admin.call(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    assert_eq!(conn.read(), b"$-1\r\n");
    assert_eq!(conn.read(), b":2\r\n");
    assert_eq!(conn.read(), b"$1\r\n2\r\n");
    assert_eq!(conn.read(), b"+PONG\r\n");
}

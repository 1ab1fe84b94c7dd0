-- respd's Lua sandbox, run once when the VM starts (chunk name "=respd",
-- which the error handler skips when it looks for the script's line).
-- Redis 7.0 makes the globals and the library tables read-only with a patch
-- to Lua; respd's Lua is stock 5.1, so the same is done with proxies: a
-- script sees `env`, an empty table whose metatable reads through to the
-- real globals and refuses every write.
local real, hidden = ...
local error, rawget, rawset, setmetatable, tostring, type, next, pcall =
    error, rawget, rawset, setmetatable, tostring, type, next, pcall
local setfenv, loadstring, load = setfenv, loadstring, load

local proxies = setmetatable({}, { __mode = 'k' })

local function readonly()
    error('Attempt to modify a readonly table', 2)
end

local function protect(target)
    local proxy = setmetatable({}, { __index = target, __newindex = readonly })
    proxies[proxy] = target
    return proxy
end

-- Called by __index functions; level 3 is the code that read `name`.
local function nonexistent(name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 3)
end

-- Lua 5.1's unpack computes its count in an int that a wide range
-- overflows (a crash); Redis's patched Lua refuses such ranges.
local unpack_raw = unpack
local function truncate(x)
    return x - math.fmod(x, 1)
end
do
    -- (named so that its argument errors name 'unpack')
    local unpack = unpack_raw
    -- (passes on exactly its arguments: each takes one of the 8000 stack
    -- slots the results share)
    real.unpack = function(...)
        local t, i, j = ...
        if type(t) == 'table' then
            local first = truncate(tonumber(i) or 1)
            local last = truncate(tonumber(j) or #t)
            if first <= last and last - first >= 2147483647 then
                error('too many results to unpack', 2)
            end
        end
        return unpack(...)
    end
end

-- What Redis 7.0 leaves out of the globals.
for _, name in ipairs({ 'print', 'dofile', 'loadfile', 'module', 'require', 'setfenv',
    'getfenv', 'newproxy', 'package', 'os', 'io', 'debug' }) do
    real[name] = nil
end

-- pairs and next see through the proxies; rawset refuses them.
real.pairs = function(t)
    return next, proxies[t] or t, nil
end
real.next = function(t, k)
    return next(proxies[t] or t, k)
end
real.rawset = function(t, k, v)
    if proxies[t] then
        error('Attempt to modify a readonly table', 0)
    end
    return rawset(t, k, v)
end
real.rawget = function(t, k)
    return rawget(proxies[t] or t, k)
end

-- Every function that catches errors lets a killed script's error through
-- (SCRIPT KILL, FUNCTION KILL, SHUTDOWN): it raises it again.
local check_kill, xpcall_raw, resume = hidden.check_kill, xpcall, coroutine.resume

-- Metatables: a protected table's cannot be replaced; _G's reads as a
-- read-only table (as Redis's), the libraries' as none, strings' as a
-- read-only copy of the real one.
local getmetatable_raw = getmetatable
local visible_metatables = setmetatable({}, { __mode = 'k' })
-- (Their argument errors are raised here, in C's order, naming the
-- script's line as C's do.)
real.setmetatable = function(...)
    local count, t, mt = select('#', ...), ...
    if type(t) ~= 'table' then
        local got = count == 0 and 'no value' or type(t)
        error("bad argument #1 to 'setmetatable' (table expected, got " .. got .. ")", 2)
    end
    if count < 2 or (mt ~= nil and type(mt) ~= 'table') then
        error("bad argument #2 to 'setmetatable' (nil or table expected)", 2)
    end
    if proxies[t] then
        error('Attempt to modify a readonly table', 0)
    end
    return setmetatable(t, mt)
end
real.getmetatable = function(...)
    local t = ...
    if select('#', ...) == 0 then
        error("bad argument #1 to 'getmetatable' (value expected)", 2)
    end
    if proxies[t] then
        return visible_metatables[t]
    end
    if type(t) == 'string' then
        return visible_metatables['']
    end
    return getmetatable_raw(t)
end

-- table.insert writes raw: it refuses protected tables (remove and sort
-- see them as empty, as Redis's are, and write nothing).
-- Its argument errors are raised here, naming the script's line as C's do.
local insert = real.table.insert
real.table.insert = function(...)
    local count, t, pos = select('#', ...), ...
    if type(t) ~= 'table' then
        local got = count == 0 and 'no value' or type(t)
        error("bad argument #1 to 'insert' (table expected, got " .. got .. ")", 2)
    end
    if count ~= 2 and count ~= 3 then
        error("wrong number of arguments to 'insert'", 2)
    end
    if count == 3 and tonumber(pos) == nil then
        error("bad argument #2 to 'insert' (number expected, got " .. type(pos) .. ")", 2)
    end
    if proxies[t] then
        error('Attempt to modify a readonly table', 0)
    end
    return insert(...)
end

-- Redis 7.0's pcall gives the `err` string of an error table (what
-- redis.call raises) rather than the table, as Redis 6 did.
real.pcall = function(f, ...)
    local result = { pcall(f, ...) }
    if not result[1] then
        check_kill()
        local err = result[2]
        if type(err) == 'userdata' and hidden.pending then
            err, hidden.pending = hidden.pending, nil
        end
        if type(err) == 'table' and type(err.err) == 'string' then
            err = err.err
        end
        result[2] = err
    end
    return unpack_raw(result, 1, table.maxn(result))
end

real.xpcall = function(f, handler)
    local result = { xpcall_raw(f, handler) }
    if not result[1] then
        check_kill()
    end
    return unpack_raw(result, 1, table.maxn(result))
end

real.coroutine.resume = function(co, ...)
    local result = { resume(co, ...) }
    if not result[1] then
        check_kill()
    end
    return unpack_raw(result, 1, table.maxn(result))
end

-- Stock Lua 5.1's unpack counts its results in an int that overflows
-- (unpack(t, -2, 2147483647)), then writes past the end of the Lua stack;
-- Redis's Lua refuses such a range. The checks are made here, with the
-- C function's messages raised at the script's line, so that the C
-- function is only called when it cannot fail.
local c_unpack, tonumber, select, floor, ceil = unpack, tonumber, select, math.floor, math.ceil
local INT_MAX, LUA_MAX_C_STACK = 2147483647, 8000
local function int_argument(n, value, default)
    if value == nil then
        return default
    end
    local number = tonumber(value)
    if number == nil then
        error("bad argument #" .. n .. " to 'unpack' (number expected, got " .. type(value) .. ")", 3)
    end
    return number >= 0 and floor(number) or ceil(number)
end
real.unpack = function(...)
    local nargs, t, i, j = select('#', ...), ...
    if type(t) ~= 'table' then
        local got = nargs == 0 and 'no value' or type(t)
        error("bad argument #1 to 'unpack' (table expected, got " .. got .. ")", 2)
    end
    local first, last = int_argument(2, i, 1), int_argument(3, j, #t)
    -- lua_checkstack fails past 8000 slots, the arguments included.
    if first <= last and (last - first >= INT_MAX or last - first + 1 + nargs > LUA_MAX_C_STACK) then
        error('too many results to unpack', 2)
    end
    return c_unpack(...)
end

-- Code loaded at run time gets the script's environment too.
local env
-- Redis's Lua parses every chunk as text (precompiled chunks could corrupt
-- the VM): one that starts with the bytecode signature, ESC, fails on that
-- byte. The same error is had here by parsing a one-byte chunk of the same
-- name.
local function binary_refused(chunkname)
    local _, err = loadstring('\1', chunkname)
    return nil, (string.gsub(err, "'char%(1%)'$", "'char(27)'"))
end
real.loadstring = function(code, name)
    if type(code) == 'string' and string.byte(code, 1) == 27 then
        return binary_refused(name or code)
    end
    local f, err = loadstring(code, name)
    if f then setfenv(f, env) end
    return f, err
end
real.load = function(fn, name)
    local binary = false
    local reader = fn
    if type(fn) == 'function' then
        local first = true
        reader = function()
            local piece = fn()
            if first then
                first = false
                if type(piece) == 'string' and string.byte(piece, 1) == 27 then
                    binary = true
                    return nil
                end
            end
            return piece
        end
    end
    local f, err = load(reader, name)
    if binary then
        return binary_refused(name or '=(load)')
    end
    if f then setfenv(f, env) else check_kill() end
    return f, err
end

-- redis.call is made by respd for each run (it holds the client's
-- connection) and put in place by `run`; redis.pcall and redis.log pass
-- through it (see mod.rs).
local api = real.redis
local redis_log = api.log

for _, name in ipairs({ 'redis', 'string', 'table', 'math', 'coroutine', 'cjson', 'cmsgpack', 'bit', 'struct' }) do
    if type(real[name]) == 'table' then
        real[name] = protect(real[name])
    end
end

-- Methods on strings ('x'):rep(3) go through the same protected table.
getmetatable_raw('').__index = real.string

-- A script's global reads go through plain tables (no Lua call each): env
-- falls back to `real`, and only a name `real` lacks reaches a function,
-- real's own __index (set at the end, once this chunk has read `real`).
env = setmetatable({}, { __index = real, __newindex = readonly })
proxies[env] = real
real._G = env
local globals_metatable = protect({ __index = function(t, name) nonexistent(name) end })
visible_metatables[env] = globals_metatable
local string_metatable = protect(getmetatable_raw(''))
visible_metatables[''] = string_metatable

-- The environment of function libraries while they load: `redis` there
-- offers register_function and a few helpers, not call.
local loading_redis
local library_env = setmetatable({}, {
    __index = function(t, name)
        -- While a library loads, Redis offers it its `redis` table only.
        if loading_redis then
            if name == 'redis' then
                return loading_redis
            end
            nonexistent(name)
        end
        local value = rawget(real, name)
        if value == nil then
            nonexistent(name)
        end
        return value
    end,
    __newindex = readonly,
})
proxies[library_env] = real
visible_metatables[library_env] = globals_metatable

-- Runs `f` for one call, through xpcall so errors carry their place.
-- `call` is redis.call meanwhile. An EVAL script finds
-- its keys and arguments in KEYS and ARGV; a function gets them as its
-- arguments. Done here rather than from Rust: a table write costs Lua far
-- less than it costs the binding.
local xpcall, handler = xpcall_raw, hidden.handler
-- A function's call goes through one closure made once (Lua 5.1's xpcall
-- passes no arguments), not a new one per call.
local function_f, function_keys, function_args
local function call_function()
    return function_f(function_keys, function_args)
end
local function run(call, f, keys, args, eval)
    api.call, hidden.call = call, call
    local ok, result
    if eval then
        real.KEYS, real.ARGV = keys, args
        ok, result = xpcall(f, handler)
        real.KEYS, real.ARGV = nil, nil
    else
        function_f, function_keys, function_args = f, keys, args
        ok, result = xpcall(call_function, handler)
        function_f, function_keys, function_args = nil, nil, nil
    end
    api.call, hidden.call, hidden.pending = nil, nil, nil
    return ok, result
end

-- Loads a library's code: `api` is the loading-time `redis` table.
local function load_library(f, api)
    loading_redis = setmetatable({}, {
        __index = function(t, name)
            local value = rawget(api, name)
            if value == nil then
                nonexistent(name)
            end
            return value
        end,
        __newindex = readonly,
    })
    local ok, err = xpcall(f, handler)
    loading_redis = nil
    -- A function may have kept the loading table: once loaded, it can no
    -- longer register (Redis's error) and its log is the ordinary one.
    rawset(api, 'register_function', function()
        error({ err = 'ERR redis.register_function can only be called on FUNCTION LOAD command' })
    end)
    rawset(api, 'log', redis_log)
    return ok, err
end

setmetatable(real, {
    __index = function(t, name)
        nonexistent(name)
    end,
})

return env, library_env, run, load_library

"""``GET /console``: a phone-sized web chat on the local adapter (try the bot without a platform)."""

from __future__ import annotations

from aiohttp import web

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>跟单助手 · 本地控制台</title>
<style>
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f2f3f5}
header{background:#1f6feb;color:#fff;padding:10px 14px;font-size:16px}
#who{display:flex;gap:6px;padding:8px;background:#fff;border-bottom:1px solid #ddd;flex-wrap:wrap}
#who input{flex:1;min-width:80px;padding:6px;border:1px solid #ccc;border-radius:6px}
#log{padding:10px;height:calc(100vh - 190px);overflow-y:auto}
.m{max-width:85%;margin:6px 0;padding:8px 10px;border-radius:10px;white-space:pre-wrap;line-height:1.45}
.me{background:#95ec69;margin-left:auto}.bot{background:#fff}
.card{border:1px solid #1f6feb}.card b{display:block;margin-bottom:4px}
.card button{margin:6px 6px 0 0;padding:6px 14px;border-radius:6px;border:0;background:#1f6feb;color:#fff}
.card button.danger{background:#d1242f}.closed{opacity:.6}
form{display:flex;gap:6px;padding:8px;background:#fff;position:fixed;bottom:0;left:0;right:0}
form textarea{flex:1;padding:8px;border:1px solid #ccc;border-radius:6px;height:44px}
form button{padding:0 16px;border:0;border-radius:6px;background:#1f6feb;color:#fff}
</style></head><body>
<header>跟单助手 · 本地控制台</header>
<div id="who"><input id="user" placeholder="用户ID" value="u1"><input id="name" placeholder="名字" value="张三">
<input id="chat" placeholder="群ID（空=私聊）" value="g1"><button onclick="refresh()">刷新</button></div>
<div id="log"></div>
<form onsubmit="send();return false"><textarea id="text" placeholder="/下单 华为 A100×20@300 交期12-15"></textarea>
<button>发送</button></form>
<script>
const $=id=>document.getElementById(id);
function who(){const u=$('user').value.trim();return{user:u,name:$('name').value.trim(),chat:$('chat').value.trim()||u}}
function bubble(text,cls){const d=document.createElement('div');d.className='m '+cls;
  d.textContent=text;$('log').appendChild(d);return d}
// the server keeps what the bot sent; the person's own lines are kept here (per user and chat, for
// this tab), each with the number of bot messages before it, so a redraw puts them back in place
let drawn={key:'',count:0};
function key(w){return 'gendan:'+w.user+'@'+w.chat}
function mine(w){try{return JSON.parse(sessionStorage.getItem(key(w))||'[]')}catch(e){return []}}
function remember(w,text){const lines=mine(w);lines.push({after:drawn.key===key(w)?drawn.count:1e9,text});
  sessionStorage.setItem(key(w),JSON.stringify(lines))}
function bottom(){const l=$('log');l.scrollTop=l.scrollHeight}
function render(msg){
  if(msg.card){const d=bubble('', 'bot card'+(msg.card.closed?' closed':''));const b=document.createElement('b');
    b.textContent=msg.card.title;d.appendChild(b);d.appendChild(document.createTextNode(msg.card.body));
    if(!msg.card.closed){const row=document.createElement('div');d.appendChild(row);
      for(const btn of msg.card.buttons){const e=document.createElement('button');e.textContent=btn.label;
        if(btn.style==='danger')e.className='danger';e.onclick=()=>press(btn.action);row.appendChild(e)}}}
  else bubble(msg.text,'bot')}
async function refresh(){const w=who();const r=await fetch('/local/sent?chat='+encodeURIComponent(w.chat));
  const j=await r.json();$('log').innerHTML='';const own=mine(w);let i=0;
  j.messages.forEach((m,n)=>{for(;i<own.length&&own[i].after<=n;i++)bubble(own[i].text,'me');render(m)});
  for(;i<own.length;i++)bubble(own[i].text,'me');
  drawn={key:key(w),count:j.messages.length};bottom()}
async function send(){const w=who();const text=$('text').value;if(!text.trim())return;
  remember(w,text);bubble(text,'me');bottom();$('text').value='';
  await fetch('/local/message',{method:'POST',headers:{'Content-Type':'application/json'},
    body:JSON.stringify({...w,chat_type:w.chat===w.user?'single':'group',text})});await refresh()}
async function press(action){const w=who();const text=action.endsWith(':no')?(prompt('驳回理由')||''):'';
  await fetch('/local/action',{method:'POST',headers:{'Content-Type':'application/json'},
    body:JSON.stringify({...w,action,text})});await refresh()}
// ?user=m1&name=王经理&chat=m1 opens the console as that person in that chat
for(const [k,v] of new URLSearchParams(location.search)){if($(k))$(k).value=v}
refresh();
</script></body></html>
"""


def setup_routes(app: web.Application) -> None:
    """Register ``/console``."""

    async def console(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html", charset="utf-8")

    app.router.add_get("/console", console)

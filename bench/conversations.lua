-- wrk script: POST /conversations as the widget sends them: each conversation is posted
-- CONVERSATION_POSTS (5) times, its whole history each time, two messages longer per post
-- (a question and its answer), so most posts merge into a stored conversation. Its user stays
-- the same across its posts: a web key may not post another user's conversation.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
require("common")

local posts = 5

request = function()
  counter = counter + 1
  local chat = string.format("c%s-%d-%d", run_tag, thread_index or 0, math.floor(counter / posts))
  local messages = {}
  for turn = 0, counter % posts do
    table.insert(messages, string.format(
      '{"id":"%s-u%d","role":"user","content":"How do I configure the widget, step %d?"}',
      chat, turn, turn))
    table.insert(messages, string.format(
      '{"id":"%s-a%d","role":"assistant","content":"Set the apiKey and the integration ' ..
      'in the settings, then reload the page (step %d)."}', chat, turn, turn))
  end
  return post("/conversations", string.format(
    '{"id":"%s","type":"openai","messages":[%s],' ..
    '"userProperties":{"id":"user-%d","identificationType":"COOKIED"}}',
    chat, table.concat(messages, ","), math.floor(counter / posts) % 20000))
end
